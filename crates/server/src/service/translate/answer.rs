//! An OpenAI-compatible upstream's answer as a Gemini one: a whole chat completion
//! ([`completion`]), or its stream of chunks ([`ChunkReader`], a small state machine fed one
//! server-sent event at a time). The answer's text is a text part, its `tool_calls` are
//! `functionCall` parts (arguments parsed), `finish_reason` goes through [`super::finish`],
//! `usage` becomes `usageMetadata`.
//!
//! A stream's text goes out as it comes. Tool calls arrive in fragments (`arguments` piece by
//! piece, keyed by `index`) and are only whole at the end, so they are gathered and go out on
//! the last chunk with the finish reason and the usage, which OpenAI servers send after the
//! finish reason (`stream_options.include_usage`); the last chunk is written at `[DONE]`, or
//! at the end of the body for a server that sends no `[DONE]`. A stream that ends without a
//! finish reason was cut.

use gemd_wire::gemini::{Candidate, Content, FinishReason, FunctionCall, GenerateContentResponse, Part, UsageMetadata};
use serde_json::Value;

use super::error::TranslateError;
use super::finish;
use super::messages::arguments_value;
use super::plan::unquote_enum;
use crate::service::estimate;
use crate::service::tools::plan::{Answer, Plan};
use crate::service::tools::CALLS_MESSAGE;

/// What an answer is read for: the plan the request was sent with (an enum answer comes back
/// quoted), the `modelVersion` to report, the backend to blame, and gemd's estimate of the
/// prompt (the usage of a stream whose upstream sends none).
pub struct Reading {
    pub plan: Plan,
    pub model_version: String,
    pub backend: String,
    pub prompt_estimate: u32,
}

impl Reading {
    fn malformed(&self, reason: impl Into<String>) -> TranslateError {
        TranslateError::Malformed {
            backend: self.backend.clone(),
            expected: "a chat completion",
            reason: reason.into(),
        }
    }

    fn response(
        &self,
        parts: Vec<Part>,
        finish: Option<FinishReason>,
        usage: Option<UsageMetadata>,
        response_id: &str,
    ) -> GenerateContentResponse {
        let calls = parts.iter().any(|p| p.function_call.is_some());
        GenerateContentResponse {
            candidates: vec![Candidate {
                content: Some(Content { role: Some("model".into()), parts }),
                finish_reason: finish,
                finish_message: (calls && finish == Some(FinishReason::Stop)).then(|| CALLS_MESSAGE.to_string()),
                index: 0,
            }],
            prompt_feedback: None,
            usage_metadata: usage,
            model_version: self.model_version.clone(),
            response_id: response_id.to_string(),
        }
    }
}

/// A whole chat completion.
pub fn completion(body: &[u8], reading: &Reading) -> Result<GenerateContentResponse, TranslateError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| reading.malformed(format!("not JSON: {e}")))?;
    let choice = v.get("choices").and_then(|c| c.get(0)).ok_or_else(|| reading.malformed("no choices"))?;
    let message = choice.get("message").ok_or_else(|| reading.malformed("choices[0] has no message"))?;
    let text = unquote_enum(&reading.plan, content_text(message.get("content")));
    let calls: Vec<FunctionCall> = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    let f = c.get("function");
                    let name = f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default();
                    let arguments = f.and_then(|f| f.get("arguments")).and_then(Value::as_str).unwrap_or("{}");
                    FunctionCall { id: None, name: name.to_string(), args: Some(arguments_value(arguments)) }
                })
                .collect()
        })
        .unwrap_or_default();
    let finish = finish::from_openai(choice.get("finish_reason").and_then(Value::as_str).unwrap_or("stop"));
    let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
    Ok(reading.response(parts(text, calls), Some(finish), Some(usage(v.get("usage"))), id))
}

/// Text, then calls; a text part (maybe empty) when there is no call, as Gemini writes it.
fn parts(text: String, calls: Vec<FunctionCall>) -> Vec<Part> {
    let mut parts = Vec::with_capacity(calls.len() + 1);
    if calls.is_empty() || !text.is_empty() {
        parts.push(Part::text(text));
    }
    parts.extend(calls.into_iter().map(|c| Part { function_call: Some(c), ..Default::default() }));
    parts
}

/// `content` as a string, or the texts of its parts.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
        _ => String::new(),
    }
}

fn usage(u: Option<&Value>) -> UsageMetadata {
    let count =
        |k: &str| u.and_then(|u| u.get(k)).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32).unwrap_or(0);
    UsageMetadata::new(count("prompt_tokens"), count("completion_tokens"))
}

/// A call being streamed: its name and the arguments so far.
#[derive(Default)]
struct PartialCall {
    name: String,
    arguments: String,
}

/// Reads a chat-completions stream one event at a time.
pub struct ChunkReader {
    reading: Reading,
    response_id: String,
    calls: Vec<PartialCall>,
    finish: Option<FinishReason>,
    usage: Option<UsageMetadata>,
    /// An enum answer, held until it is whole (it is unquoted then).
    held_text: String,
    /// Characters of text and call arguments streamed: the output estimate when the upstream
    /// reports no usage (servers that ignore `stream_options.include_usage`).
    streamed_chars: usize,
    done: bool,
}

impl ChunkReader {
    pub fn new(reading: Reading) -> Self {
        ChunkReader {
            reading,
            response_id: String::new(),
            calls: Vec::new(),
            finish: None,
            usage: None,
            held_text: String::new(),
            streamed_chars: 0,
            done: false,
        }
    }

    /// The Gemini chunks one event's data gives (none, one, or the last one at `[DONE]`).
    pub fn event(&mut self, data: &str) -> Result<Vec<GenerateContentResponse>, TranslateError> {
        if data.trim() == "[DONE]" {
            return self.end();
        }
        let v: Value =
            serde_json::from_str(data).map_err(|e| self.reading.malformed(format!("a chunk is not JSON: {e}")))?;
        if let Some(id) = v.get("id").and_then(Value::as_str) {
            self.response_id = id.to_string();
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage(Some(u)));
        }
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else { return Ok(Vec::new()) };
        let delta = choice.get("delta");
        for c in delta.and_then(|d| d.get("tool_calls")).and_then(Value::as_array).into_iter().flatten() {
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(self.calls.len() as u64) as usize;
            if index >= self.calls.len() {
                self.calls.resize_with(index + 1, PartialCall::default);
            }
            let f = c.get("function");
            if let Some(name) = f.and_then(|f| f.get("name")).and_then(Value::as_str) {
                self.calls[index].name.push_str(name);
            }
            if let Some(piece) = f.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                self.calls[index].arguments.push_str(piece);
                self.streamed_chars += piece.chars().count();
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(finish::from_openai(reason));
        }
        let text = content_text(delta.and_then(|d| d.get("content")));
        if text.is_empty() {
            return Ok(Vec::new());
        }
        self.streamed_chars += text.chars().count();
        if matches!(self.reading.plan.answer, Answer::Enum(_)) {
            self.held_text.push_str(&text);
            return Ok(Vec::new());
        }
        Ok(vec![self.reading.response(vec![Part::text(text)], None, None, &self.response_id)])
    }

    /// The last chunk, at `[DONE]` or the end of the body (once).
    pub fn end(&mut self) -> Result<Vec<GenerateContentResponse>, TranslateError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(Vec::new());
        }
        let finish = self.finish.ok_or_else(|| self.reading.malformed("the stream ended before its finish_reason"))?;
        let calls = std::mem::take(&mut self.calls)
            .into_iter()
            .filter(|c| !c.name.is_empty())
            .map(|c| {
                let arguments = if c.arguments.is_empty() { "{}" } else { c.arguments.as_str() };
                FunctionCall { id: None, name: c.name, args: Some(arguments_value(arguments)) }
            })
            .collect();
        let text = unquote_enum(&self.reading.plan, std::mem::take(&mut self.held_text));
        // Gemini's last chunk always has the usage: gemd's estimate where the upstream gave none.
        let estimated = || {
            let output = estimate::tokens_of_chars(self.streamed_chars).min(u32::MAX as u64) as u32;
            UsageMetadata::new(self.reading.prompt_estimate, output)
        };
        let usage = self.usage.unwrap_or_else(estimated);
        Ok(vec![self.reading.response(parts(text, calls), Some(finish), Some(usage), &self.response_id)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reading(answer: Answer) -> Reading {
        Reading {
            plan: Plan { answer, ..Plan::default() },
            model_version: "m-001".into(),
            backend: "vllm".into(),
            prompt_estimate: 10,
        }
    }

    #[test]
    fn a_completion_with_calls() {
        let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}});
        let r = completion(body.to_string().as_bytes(), &reading(Answer::Text)).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["candidates"][0]["content"]["parts"],
            json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}])
        );
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert_eq!(v["candidates"][0]["finishMessage"], CALLS_MESSAGE);
        assert_eq!(
            v["usageMetadata"],
            json!({"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17})
        );
        assert_eq!((v["modelVersion"].as_str(), v["responseId"].as_str()), (Some("m-001"), Some("chatcmpl-1")));
        assert!(completion(b"{}", &reading(Answer::Text)).is_err());
        assert!(completion(b"<html>", &reading(Answer::Text)).is_err());
    }

    #[test]
    fn a_stream_with_text_then_fragmented_calls_then_usage() {
        let mut r = ChunkReader::new(reading(Answer::Text));
        let text = r.event(r#"{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me"},"finish_reason":null}]}"#).unwrap();
        assert_eq!(serde_json::to_value(&text[0]).unwrap()["candidates"][0]["content"]["parts"][0]["text"], "Let me");
        for e in [
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#,
        ] {
            assert!(r.event(e).unwrap().is_empty());
        }
        let last = serde_json::to_value(&r.event("[DONE]").unwrap()[0]).unwrap();
        assert_eq!(
            last["candidates"][0]["content"]["parts"],
            json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}])
        );
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 13);
        assert!(r.end().unwrap().is_empty(), "the end after [DONE] adds nothing");
        let mut cut = ChunkReader::new(reading(Answer::Text));
        cut.event(r#"{"choices":[{"delta":{"content":"Hel"}}]}"#).unwrap();
        assert!(matches!(cut.end(), Err(TranslateError::Malformed { .. })));
    }

    #[test]
    fn a_stream_without_usage_ends_with_the_estimate() {
        let mut r = ChunkReader::new(reading(Answer::Text));
        r.event(r#"{"choices":[{"delta":{"content":"Hello, world"},"finish_reason":"stop"}]}"#).unwrap();
        let last = serde_json::to_value(&r.event("[DONE]").unwrap()[0]).unwrap();
        // The prompt as estimated before sending; 12 characters of text, 3 tokens.
        assert_eq!(
            last["usageMetadata"],
            json!({"promptTokenCount": 10, "candidatesTokenCount": 3, "totalTokenCount": 13})
        );
    }

    #[test]
    fn an_enum_answer_is_held_and_unquoted() {
        let mut r = ChunkReader::new(reading(Answer::Enum(vec!["A".into(), "B".into()])));
        assert!(r.event(r#"{"choices":[{"delta":{"content":"\"B"}}]}"#).unwrap().is_empty());
        r.event(r#"{"choices":[{"delta":{"content":"\""},"finish_reason":"stop"}]}"#).unwrap();
        let last = serde_json::to_value(&r.end().unwrap()[0]).unwrap();
        assert_eq!(last["candidates"][0]["content"]["parts"][0]["text"], "B");
    }
}
