//! The two framings of `streamGenerateContent`: Server-Sent Events (`alt=sse`: one
//! `data: <json>` line per chunk, CRLF-terminated, no `[DONE]`) and the incrementally written
//! JSON array (no `alt`: `[` pretty elements separated by `\n,\r\n`, closing `]`). An error
//! after the first byte ends the stream with an error event in the same framing.

use axum::http::HeaderValue;
use gemd_wire::gemini::UsageMetadata;

use super::convert::response;
use crate::http::stream::StreamEnd;
use crate::service::error::ApiError;
use crate::service::generation::StreamWriter;
use crate::service::tools::Ending;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Sse,
    JsonArray,
}

impl Framing {
    pub fn content_type(self) -> HeaderValue {
        match self {
            Framing::Sse => HeaderValue::from_static("text/event-stream"),
            Framing::JsonArray => HeaderValue::from_static("application/json; charset=UTF-8"),
        }
    }

    /// One element; `first` tells whether it opens the array.
    pub fn element<T: serde::Serialize>(self, value: &T, first: bool) -> String {
        match self {
            Framing::Sse => format!("data: {}\r\n\r\n", serde_json::to_string(value).expect("serialisable")),
            Framing::JsonArray => {
                let body = serde_json::to_string_pretty(value).expect("serialisable");
                if first {
                    format!("[{body}")
                } else {
                    format!("\n,\r\n{body}")
                }
            }
        }
    }

    /// An already-serialised error object as the stream's last element.
    pub fn error(self, error_json: &str, first: bool) -> String {
        match self {
            Framing::Sse => format!("data: {error_json}\r\n\r\n"),
            Framing::JsonArray if first => format!("[{error_json}]"),
            Framing::JsonArray => format!("\n,\r\n{error_json}\n]"),
        }
    }

    /// How a stream in this framing ends with an error raised outside its writer (the
    /// deadline's).
    pub fn stream_end(self) -> StreamEnd {
        StreamEnd::new(move |error_json, first| self.error(error_json, first))
    }

    /// What closes a stream that ended normally.
    pub fn end(self) -> &'static str {
        match self {
            Framing::Sse => "",
            Framing::JsonArray => "\n]",
        }
    }
}

/// Writes `GenerateContentResponse` chunks in one framing: every chunk has a text part and the
/// running usage; only the last has `finishReason` (and, when the answer calls functions,
/// the whole calls).
pub struct NativeChunks {
    framing: Framing,
    first: bool,
    prompt_tokens: u32,
    model_version: String,
    response_id: String,
}

impl NativeChunks {
    pub fn new(framing: Framing, prompt_tokens: u32, model_version: String, response_id: String) -> Self {
        NativeChunks { framing, first: true, prompt_tokens, model_version, response_id }
    }
}

impl StreamWriter for NativeChunks {
    fn chunk(&mut self, text: String, output_tokens: u32, ending: Option<Ending>) -> String {
        let first = std::mem::replace(&mut self.first, false);
        let usage = UsageMetadata::new(self.prompt_tokens, output_tokens);
        let body = response(text, ending.as_ref(), usage, &self.model_version, &self.response_id);
        let mut out = self.framing.element(&body, first);
        if ending.is_some() {
            out.push_str(self.framing.end());
        }
        out
    }

    fn error(&mut self, error: &ApiError) -> String {
        let first = std::mem::replace(&mut self.first, false);
        self.framing.error(&error.stream_event_json(), first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sse_events_are_crlf_terminated_single_lines() {
        assert_eq!(Framing::Sse.element(&json!({"a": [1, 2]}), true), "data: {\"a\":[1,2]}\r\n\r\n");
    }

    #[test]
    fn json_array_parses_as_one_array() {
        let f = Framing::JsonArray;
        let text = format!("{}{}{}", f.element(&json!({"a": 1}), true), f.element(&json!({"b": 2}), false), f.end());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, json!([{"a": 1}, {"b": 2}]));
        let err = format!("{}{}", f.element(&json!({"a": 1}), true), f.error("{\"error\":{}}", false));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&err).unwrap()[1], json!({"error": {}}));
    }
}
