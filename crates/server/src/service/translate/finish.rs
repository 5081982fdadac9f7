//! Why an answer ended, in both dialects: the one table gemd's OpenAI layer reports its
//! endings with and an OpenAI-compatible upstream's `finish_reason` is read back by.
//!
//! | Gemini `finishReason`                    | OpenAI `finish_reason`             |
//! |------------------------------------------|------------------------------------|
//! | `STOP` (with `functionCall` parts)       | `tool_calls`                       |
//! | `STOP`, `MALFORMED_FUNCTION_CALL`, other | `stop`                             |
//! | `MAX_TOKENS`                             | `length`                           |
//! | `SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII` | `content_filter` |
//!
//! Read back: `stop`, `tool_calls` and the older `function_call` are `STOP`; `length` is
//! `MAX_TOKENS`; `content_filter` is `SAFETY`; anything else is `OTHER`.

use gemd_wire::gemini::FinishReason;
use gemd_wire::openai;

/// The OpenAI name of a Gemini ending; `calls`: the answer carries function calls.
pub fn to_openai(reason: FinishReason, calls: bool) -> openai::FinishReason {
    use FinishReason::*;
    match reason {
        MaxTokens => openai::FinishReason::Length,
        Safety | Recitation | Blocklist | ProhibitedContent | Spii => openai::FinishReason::ContentFilter,
        Stop if calls => openai::FinishReason::ToolCalls,
        Stop | MalformedFunctionCall | FinishReasonUnspecified | Language | Other => openai::FinishReason::Stop,
    }
}

/// The Gemini ending of an OpenAI `finish_reason`.
pub fn from_openai(reason: &str) -> FinishReason {
    match reason {
        "stop" | "tool_calls" | "function_call" => FinishReason::Stop,
        "length" => FinishReason::MaxTokens,
        "content_filter" => FinishReason::Safety,
        _ => FinishReason::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_back_what_it_writes() {
        for (gemini, calls) in
            [(FinishReason::Stop, false), (FinishReason::Stop, true), (FinishReason::MaxTokens, true)]
        {
            let name = serde_json::to_value(to_openai(gemini, calls)).unwrap();
            assert_eq!(from_openai(name.as_str().unwrap()), gemini, "{name}");
        }
        assert_eq!(to_openai(FinishReason::MalformedFunctionCall, false), openai::FinishReason::Stop);
        assert_eq!(to_openai(FinishReason::Recitation, false), openai::FinishReason::ContentFilter);
        assert_eq!(from_openai("content_filter"), FinishReason::Safety);
        assert_eq!(from_openai("eos"), FinishReason::Other);
    }
}
