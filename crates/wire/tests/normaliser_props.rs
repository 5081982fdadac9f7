//! Property tests of the request normaliser (the proto3 JSON mapping and the semantic checks in
//! `parse.rs`): whatever bytes or JSON a client sends, parsing never panics, and a refusal is
//! always one the client can act on — never the "Cannot bind" error that means the normaliser
//! let through a value the typed structs cannot hold (a gemd bug). Cases are bounded so the
//! run takes seconds in CI; a failure prints the shrunk input.

use proptest::prelude::*;
use serde_json::{json, Value};

use gemd_wire::openai::{parse_chat_completion, parse_embedding};
use gemd_wire::parse::{
    parse_batch_embed_contents, parse_count_tokens, parse_embed_content, parse_generate, WireError,
};

/// Any JSON value, a few levels deep, biased towards the names and shapes requests use.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        Just(json!(1e12)),
        Just(json!(-1)),
        "[a-zA-Z_]{0,8}".prop_map(Value::String),
        Just(json!("aGk=")),
        Just(json!("user")),
        Just(json!("STRING")),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Field names of the requests' messages, and some that are nobody's.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "contents",
            "parts",
            "text",
            "role",
            "inlineData",
            "inline_data",
            "mimeType",
            "data",
            "functionCall",
            "functionResponse",
            "name",
            "args",
            "response",
            "generationConfig",
            "temperature",
            "topP",
            "topK",
            "maxOutputTokens",
            "stopSequences",
            "responseMimeType",
            "responseSchema",
            "responseJsonSchema",
            "type",
            "properties",
            "items",
            "enum",
            "required",
            "tools",
            "functionDeclarations",
            "parameters",
            "toolConfig",
            "functionCallingConfig",
            "mode",
            "allowedFunctionNames",
            "systemInstruction",
            "safetySettings",
            "category",
            "threshold",
            "candidateCount",
            "seed",
            "generateContentRequest",
            "model",
            "content",
            "taskType",
            "title",
            "outputDimensionality",
            "requests",
            "messages",
            "input",
            "dimensions",
            "max_tokens",
            "tool_choice",
            "response_format",
            "json_schema",
            "schema",
            "stream",
            "n",
            "stop",
            "fileData",
            "fileUri",
            "cachedContent",
            "thinkingConfig",
            "thinkingBudget",
        ])
        .prop_map(str::to_string),
        "[a-z]{1,6}",
    ]
}

/// A valid request of each kind, to mutate.
fn seeds() -> Vec<Value> {
    vec![
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"temperature": 0.5, "maxOutputTokens": 8,
            "responseMimeType": "application/json", "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}},
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "INTEGER"}}}}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}, "systemInstruction": {"parts": [{"text": "be brief"}]}}),
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"y": 2}}}]}]}),
    ]
}

/// `seed` with the value at a random place replaced by `with` (or a key added there).
fn mutate(seed: &Value, choice: &[usize], with: Value) -> Value {
    fn walk(v: &mut Value, choice: &[usize], with: Value) {
        let (first, rest) = match choice.split_first() {
            Some(c) => c,
            None => {
                *v = with;
                return;
            }
        };
        match v {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(first % map.len()).cloned().expect("in range");
                if rest.is_empty() && first % 5 == 0 {
                    map.insert(format!("{key}_extra"), with);
                } else {
                    walk(map.get_mut(&key).expect("present"), rest, with);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let n = items.len();
                walk(&mut items[first % n], rest, with);
            }
            other => *other = with,
        }
    }
    let mut out = seed.clone();
    walk(&mut out, choice, with);
    out
}

/// The refusal means the normaliser checked less than the types require.
fn is_gemd_bug(e: &WireError) -> bool {
    matches!(e, WireError::Syntax(m) if m.starts_with("Cannot bind"))
}

fn check_all_parsers(bytes: &[u8]) -> Result<(), TestCaseError> {
    let results: Vec<(&str, Option<WireError>)> = vec![
        ("generate", parse_generate(bytes).err()),
        ("countTokens", parse_count_tokens(bytes).err()),
        ("embedContent", parse_embed_content(bytes).err()),
        ("batchEmbedContents", parse_batch_embed_contents(bytes).err()),
        ("chat.completions", parse_chat_completion(bytes).err()),
        ("embeddings", parse_embedding(bytes).err()),
    ];
    for (name, err) in results {
        if let Some(e) = err {
            prop_assert!(
                !is_gemd_bug(&e),
                "{name}: the normaliser let through what the types cannot hold: {e}\ninput: {}",
                String::from_utf8_lossy(bytes)
            );
            prop_assert!(!e.to_string().trim().is_empty(), "{name}: an empty error message");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all_parsers(&bytes)?;
    }

    #[test]
    fn arbitrary_json_never_panics_or_slips_past_the_normaliser(v in any_json()) {
        check_all_parsers(v.to_string().as_bytes())?;
    }

    #[test]
    fn a_valid_request_with_one_value_replaced_is_parsed_or_refused_cleanly(
        seed in prop::sample::select(seeds()),
        choice in prop::collection::vec(any::<usize>(), 0..8),
        with in any_json(),
    ) {
        check_all_parsers(mutate(&seed, &choice, with).to_string().as_bytes())?;
    }
}

#[test]
fn the_seeds_are_valid() {
    for seed in seeds() {
        parse_generate(seed.to_string().as_bytes()).unwrap_or_else(|e| panic!("{seed}: {e}"));
    }
}
