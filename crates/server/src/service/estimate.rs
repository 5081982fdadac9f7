//! The prompt size a request is admitted on when an upstream answers it and no local
//! tokenizer of the upstream's model exists: one token per four characters of every string in
//! the request (its texts, function declarations and arguments, schema), rounded up, at least
//! one. The ledger then records the upstream's own count, from its answer's usage.
//!
//! Why four: it is the ratio Google's token guide gives for Gemini models (about four
//! characters a token). Chinese text runs nearer one token per character, so a Chinese
//! prompt is admitted low and then recorded at its real count.

use serde_json::Value;

const CHARS_PER_TOKEN: usize = 4;

/// The estimated prompt tokens of a JSON request body (0 strings: 1 token).
pub fn prompt_tokens(body: &Value) -> u64 {
    tokens_of_chars(string_chars(body))
}

/// The estimated tokens of `chars` characters of text (at least 1).
pub fn tokens_of_chars(chars: usize) -> u64 {
    (chars.div_ceil(CHARS_PER_TOKEN) as u64).max(1)
}

fn string_chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.iter().map(string_chars).sum(),
        Value::Object(map) => map.values().map(string_chars).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_string_counts_a_quarter_token_per_character() {
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello, world"}]}],
                          "systemInstruction": {"parts": [{"text": "Be brief"}]}});
        // "user" (4) + "Hello, world" (12) + "Be brief" (8) = 24 characters.
        assert_eq!(prompt_tokens(&body), 6);
        assert_eq!(prompt_tokens(&json!({"contents": []})), 1);
        assert_eq!(prompt_tokens(&json!({"x": "你好"})), 1, "characters, not bytes");
    }
}
