//! Conversation content between the dialects: a Gemini request's `systemInstruction` and
//! `contents` written as OpenAI `messages` (an OpenAI-compatible upstream), and the pieces
//! both directions share: `data:` URLs, call arguments as JSON strings, and inline text.
//!
//! The mapping: the system instruction is one `system` message; a `model` turn is an
//! `assistant` message (its text, and its `functionCall` parts as `tool_calls`); any other turn
//! is a `user` message, whose `functionResponse` parts come first as `tool` messages, each
//! naming the call it answers (its `id`, else the earliest unanswered call of that name, as
//! Gemini pairs them). Images are `image_url` parts with a `data:` URL and audio
//! `input_audio`, where the backend takes them; `text/*` inline data is its text. Thought
//! parts are not sent back; file references and code execution parts have no OpenAI form.

use std::collections::VecDeque;

use gemd_engine::chat::tool_syntax::compact;
use gemd_engine::upstream::Capabilities;
use gemd_wire::gemini::{Content, GenerateContentRequest, Part};
use gemd_wire::proto::decode_base64;
use serde_json::{json, Value};

use crate::service::error::ApiError;
use crate::service::generation::ContentError;

/// The model and backend a refusal names.
pub struct Target<'a> {
    pub model: &'a str,
    pub backend: &'a str,
    pub capabilities: &'a Capabilities,
}

/// The media type of a `data:` URL (`data:image/png;base64,…` → `image/png`).
pub fn data_url_mime(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("data:")?;
    let end = rest.find([';', ',']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|m| !m.is_empty())
}

/// Call arguments as OpenAI sends them: a JSON document in a string.
pub fn arguments_string(args: Option<&Value>) -> String {
    compact(args.unwrap_or(&Value::Object(Default::default())))
}

/// Call arguments read from OpenAI's string; one that does not parse is kept as a string.
pub fn arguments_value(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// Inline data a text model reads as text (`text/*`, JSON); `None` for other media.
pub fn inline_text(mime: &str, data: &str, field: &str) -> Option<Result<String, ApiError>> {
    if !(mime.starts_with("text/") || mime == "application/json") {
        return None;
    }
    let bytes = decode_base64(data).unwrap_or_default();
    Some(
        String::from_utf8(bytes)
            .map_err(|_| ContentError::InlineNotUtf8 { mime: mime.to_string(), part: field.to_string() }.into()),
    )
}

/// The request's conversation as OpenAI messages.
pub fn to_openai(req: &GenerateContentRequest, target: &Target) -> Result<Vec<Value>, ApiError> {
    let mut writer = Writer { target, messages: Vec::new(), unanswered: VecDeque::new(), next_id: 0 };
    if let Some(system) = &req.system_instruction {
        let parts = writer.user_parts(system, "system_instruction")?;
        let text: Vec<&str> = parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
        writer.messages.push(json!({"role": "system", "content": text.join("\n")}));
    }
    for (i, c) in req.contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        match c.role.as_deref() {
            Some("model") => writer.assistant(c, &at)?,
            _ => writer.user(c, &at)?,
        }
    }
    Ok(writer.messages)
}

struct Writer<'a> {
    target: &'a Target<'a>,
    messages: Vec<Value>,
    /// Calls made and not answered yet: (name, id), oldest first.
    unanswered: VecDeque<(String, String)>,
    next_id: usize,
}

impl Writer<'_> {
    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("call_{}", self.next_id)
    }

    fn assistant(&mut self, c: &Content, at: &str) -> Result<(), ApiError> {
        let mut text = Vec::new();
        let mut calls = Vec::new();
        for (j, part) in c.parts.iter().enumerate() {
            if part.thought {
                continue;
            }
            if let Some(call) = &part.function_call {
                let id = call.id.clone().unwrap_or_else(|| self.fresh_id());
                self.unanswered.push_back((call.name.clone(), id.clone()));
                calls.push(json!({"id": id, "type": "function",
                    "function": {"name": call.name, "arguments": arguments_string(call.args.as_ref())}}));
            } else if let Some(t) = &part.text {
                text.push(t.as_str());
            } else {
                return Err(self.unsupported(part, &format!("{at}.parts[{j}]")));
            }
        }
        let mut message = json!({"role": "assistant", "content": (!text.is_empty()).then(|| text.concat())});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        self.messages.push(message);
        Ok(())
    }

    fn user(&mut self, c: &Content, at: &str) -> Result<(), ApiError> {
        for part in &c.parts {
            if let Some(result) = &part.function_response {
                let id = match &result.id {
                    Some(id) => {
                        self.unanswered.retain(|(_, pending)| pending != id);
                        id.clone()
                    }
                    None => match self.unanswered.iter().position(|(name, _)| *name == result.name) {
                        Some(k) => self.unanswered.remove(k).map(|(_, id)| id).unwrap_or_default(),
                        None => self.fresh_id(),
                    },
                };
                let response = result.response.clone().unwrap_or_else(|| Value::Object(Default::default()));
                self.messages.push(json!({"role": "tool", "tool_call_id": id, "content": compact(&response)}));
            }
        }
        let parts = self.user_parts(c, at)?;
        match parts.as_slice() {
            [] => {}
            [only] if only["type"] == "text" => {
                self.messages.push(json!({"role": "user", "content": only["text"]}));
            }
            _ => self.messages.push(json!({"role": "user", "content": parts})),
        }
        Ok(())
    }

    /// The text and media parts of a user turn (or the system instruction), as OpenAI
    /// content parts.
    fn user_parts(&mut self, c: &Content, at: &str) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for (j, part) in c.parts.iter().enumerate() {
            let field = format!("{at}.parts[{j}]");
            if part.thought || part.function_response.is_some() {
                continue;
            }
            if let Some(t) = &part.text {
                out.push(json!({"type": "text", "text": t}));
            } else if let Some(blob) = &part.inline_data {
                let mime = blob.mime_type.as_str();
                if let Some(text) = inline_text(mime, &blob.data, &field) {
                    out.push(json!({"type": "text", "text": text?}));
                    continue;
                }
                if !self.target.capabilities.takes_media(mime) {
                    return Err(ApiError::MediaUnsupported {
                        mime: mime.to_string(),
                        model: self.target.model.to_string(),
                        backend: self.target.backend.to_string(),
                        field: format!("{field}.inline_data"),
                    });
                }
                if mime.starts_with("audio/") {
                    let format = mime.trim_start_matches("audio/").trim_start_matches("x-");
                    let format = if format == "mpeg" { "mp3" } else { format };
                    out.push(json!({"type": "input_audio", "input_audio": {"data": blob.data, "format": format}}));
                } else {
                    let url = format!("data:{mime};base64,{}", blob.data);
                    out.push(json!({"type": "image_url", "image_url": {"url": url}}));
                }
            } else {
                return Err(self.unsupported(part, &field));
            }
        }
        Ok(out)
    }

    fn unsupported(&self, part: &Part, field: &str) -> ApiError {
        let member = part.data_members().first().copied().unwrap_or("data");
        ApiError::PartUnsupported {
            member,
            model: self.target.model.to_string(),
            backend: self.target.backend.to_string(),
            field: format!("{field}.{member}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_engine::upstream::UpstreamProtocol;
    use gemd_wire::parse::parse_generate;

    fn messages(body: &str, caps: Capabilities) -> Result<Vec<Value>, ApiError> {
        let target = Target { model: "m", backend: "b", capabilities: &caps };
        to_openai(&parse_generate(body.as_bytes()).unwrap(), &target)
    }

    #[test]
    fn a_conversation_with_calls_and_results() {
        let body = r#"{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[
            {"role":"user","parts":[{"text":"Weather in Paris and Rome?"}]},
            {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},
            {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"t":20}}},{"functionResponse":{"name":"get_weather","response":{"t":25}}}]},
            {"role":"model","parts":[{"text":"Sunny."}]}]}"#;
        let m = messages(body, Capabilities::of_kind(UpstreamProtocol::OpenAi)).unwrap();
        assert_eq!(m[0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(m[1], json!({"role": "user", "content": "Weather in Paris and Rome?"}));
        assert_eq!(
            m[2]["tool_calls"][1]["function"],
            json!({"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"})
        );
        assert_eq!(m[2]["content"], Value::Null);
        let (first, second) = (&m[2]["tool_calls"][0]["id"], &m[2]["tool_calls"][1]["id"]);
        assert_eq!((&m[3]["tool_call_id"], &m[4]["tool_call_id"]), (first, second), "answered in order");
        assert_eq!(m[3], json!({"role": "tool", "tool_call_id": first, "content": "{\"t\": 20}"}));
        assert_eq!(m[5], json!({"role": "assistant", "content": "Sunny."}));
        assert_eq!(m.len(), 6);
    }

    #[test]
    fn media_goes_where_the_backend_sees_it() {
        let body = r#"{"contents":[{"parts":[{"text":"What is this?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0K"}},{"inlineData":{"mimeType":"text/plain","data":"aGk="}}]}]}"#;
        let text_only = messages(body, Capabilities::of_kind(UpstreamProtocol::OpenAi)).unwrap_err();
        assert!(
            matches!(&text_only, ApiError::MediaUnsupported { field, .. } if field == "contents[0].parts[1].inline_data")
        );
        let sees = Capabilities { images: true, ..Capabilities::of_kind(UpstreamProtocol::OpenAi) };
        let m = messages(body, sees).unwrap();
        assert_eq!(
            m[0]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}})
        );
        assert_eq!(m[0]["content"][2], json!({"type": "text", "text": "hi"}));
        let file = r#"{"contents":[{"parts":[{"fileData":{"fileUri":"gs://x","mimeType":"image/png"}}]}]}"#;
        let e = messages(file, sees).unwrap_err();
        assert!(
            matches!(&e, ApiError::PartUnsupported { field, .. } if field == "contents[0].parts[0].file_data"),
            "{e}"
        );
    }

    #[test]
    fn data_urls_and_arguments() {
        assert_eq!(data_url_mime("data:image/png;base64,iVBO"), Some("image/png"));
        assert_eq!(data_url_mime("data:,hello"), None);
        assert_eq!(data_url_mime("https://example.invalid/cat.png"), None);
        assert_eq!(arguments_value("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(arguments_value("not json"), json!("not json"));
        assert_eq!(arguments_string(None), "{}");
    }
}
