//! The streamed form of a chat completion: `data: <chat.completion.chunk>\n\n` events. The
//! first carries `delta.role`; text follows as content deltas; the last chunk of the choice
//! has an empty delta and `finish_reason`; with `stream_options.include_usage` a chunk with
//! empty `choices` and the exact `usage` comes next; `data: [DONE]\n\n` ends the stream. A
//! failure after the first event ends it with a `data: {"error": …}` event instead.

use gemd_engine::Finish;
use gemd_wire::openai::{ChatCompletionChunk, Delta, FinishReason, Usage};

use super::convert::finish_reason;
use crate::error::ApiError;
use crate::generation::StreamWriter;

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

impl StreamWriter for ChunkWriter {
    fn chunk(&mut self, text: String, output_tokens: u32, finish: Option<Finish>) -> String {
        let mut out = String::new();
        let first = std::mem::replace(&mut self.first, false);
        if first || !text.is_empty() {
            let delta = Delta { role: first.then(|| "assistant".to_string()), content: Some(text) };
            out.push_str(&self.event(Some((delta, None)), None));
        }
        if let Some(finish) = finish {
            out.push_str(&self.event(Some((Delta::default(), Some(finish_reason(finish)))), None));
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
        let out = w.chunk("Hi".into(), 2, Some(Finish::MaxTokens));
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
        let last = w.chunk(String::new(), 1, Some(Finish::Stop));
        assert!(last.contains("\"finish_reason\":\"stop\"") && last.ends_with("data: [DONE]\n\n") && !last.contains("usage"));
    }
}
