//! The streamed form of a chat completion: `data: <chat.completion.chunk>\n\n` events. The
//! first carries `delta.role`; text follows as content deltas; tool calls arrive whole, in one
//! delta of `tool_calls` (with `index`, which the OpenAI SDKs need); the last chunk of the
//! choice has an empty delta and `finish_reason`; with `stream_options.include_usage` a chunk with
//! empty `choices` and the exact `usage` comes next; `data: [DONE]\n\n` ends the stream. A
//! failure after the first event ends it with a `data: {"error": …}` event instead.

use gemd_wire::openai::{ChatCompletionChunk, Delta, FinishReason, Usage};

use super::convert::{finish_reason, tool_calls};
use crate::http::stream::StreamEnd;
use crate::service::error::ApiError;
use crate::service::generation::StreamWriter;
use crate::service::tools::Ending;

pub struct ChunkWriter {
    id: String,
    created: u64,
    model: String,
    prompt_tokens: u32,
    include_usage: bool,
    first: bool,
}

impl ChunkWriter {
    pub fn new(id: String, created: u64, model: String, prompt_tokens: u32, include_usage: bool) -> Self {
        ChunkWriter { id, created, model, prompt_tokens, include_usage, first: true }
    }

    fn event(&self, choice: Option<(Delta, Option<FinishReason>)>, usage: Option<Usage>) -> String {
        let chunk = ChatCompletionChunk::new(&self.id, self.created, &self.model, choice, usage);
        sse(&serde_json::to_string(&chunk).expect("chunks serialise"))
    }
}

fn sse(json: &str) -> String {
    format!("data: {json}\n\n")
}

/// How a chat stream ends with an error raised outside its writer (the deadline's): the same
/// `data: {"error": …}` event as [`ChunkWriter`]'s own.
pub fn stream_end() -> StreamEnd {
    StreamEnd::new(|error_json, _| sse(error_json))
}

impl StreamWriter for ChunkWriter {
    fn chunk(&mut self, text: String, output_tokens: u32, ending: Option<Ending>) -> String {
        let mut out = String::new();
        let mut first = std::mem::replace(&mut self.first, false);
        let calls = ending.as_ref().map(|e| tool_calls(e.calls(), true)).unwrap_or_default();
        if first && !calls.is_empty() && text.is_empty() {
            // An answer that is only calls: the role rides on the calls' delta.
        } else if first || !text.is_empty() {
            let delta =
                Delta { role: first.then(|| "assistant".to_string()), content: Some(text), ..Default::default() };
            out.push_str(&self.event(Some((delta, None)), None));
            first = false;
        }
        if !calls.is_empty() {
            let delta = Delta { role: first.then(|| "assistant".to_string()), content: None, tool_calls: calls };
            out.push_str(&self.event(Some((delta, None)), None));
        }
        if let Some(ending) = ending {
            out.push_str(&self.event(Some((Delta::default(), Some(finish_reason(&ending)))), None));
            if self.include_usage {
                out.push_str(&self.event(None, Some(Usage::new(self.prompt_tokens, output_tokens))));
            }
            out.push_str(&sse("[DONE]"));
        }
        out
    }

    fn error(&mut self, error: &ApiError) -> String {
        sse(&error.stream_event_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_stream_in_one_step() {
        let mut w = ChunkWriter::new("chatcmpl-x".into(), 7, "m".into(), 3, true);
        let out = w.chunk("Hi".into(), 2, Some(Ending::MaxTokens));
        let head = r#""id":"chatcmpl-x","object":"chat.completion.chunk","created":7,"model":"m""#;
        assert_eq!(
            out,
            format!(
                "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"Hi\"}},\"finish_reason\":null}}]}}\n\n\
                 data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"length\"}}]}}\n\n\
                 data: {{{head},\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}}}\n\n\
                 data: [DONE]\n\n"
            )
        );
    }

    #[test]
    fn later_empty_steps_write_nothing_until_the_end() {
        let mut w = ChunkWriter::new("c".into(), 0, "m".into(), 1, false);
        assert!(w.chunk(String::new(), 0, None).contains("\"role\":\"assistant\""));
        assert_eq!(w.chunk(String::new(), 1, None), "");
        let last = w.chunk(String::new(), 1, Some(Ending::Stop));
        assert!(
            last.contains("\"finish_reason\":\"stop\"")
                && last.ends_with("data: [DONE]\n\n")
                && !last.contains("usage")
        );
    }

    #[test]
    fn calls_arrive_whole_in_one_delta() {
        let mut w = ChunkWriter::new("c".into(), 0, "m".into(), 1, false);
        let call =
            gemd_wire::gemini::FunctionCall { id: None, name: "f".into(), args: Some(serde_json::json!({"a": 1})) };
        let out = w.chunk(String::new(), 9, Some(Ending::Calls(vec![call])));
        let events: Vec<serde_json::Value> = out
            .split_terminator("\n\n")
            .filter(|e| *e != "data: [DONE]")
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect();
        let delta = &events[0]["choices"][0]["delta"];
        assert_eq!((delta["role"].as_str(), delta["tool_calls"][0]["index"].as_u64()), (Some("assistant"), Some(0)));
        assert_eq!(delta["tool_calls"][0]["function"]["arguments"], "{\"a\": 1}");
        assert_eq!(events[1]["choices"][0]["finish_reason"], "tool_calls");
    }
}
