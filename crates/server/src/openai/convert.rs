//! From a chat-completions request to what the engine runs (the same `ChatPrompt` and
//! surface-neutral generation options the native surface builds), with every feature this backend cannot honour
//! refused up front with a 400 that names the field; and the finish-reason and tool-call
//! mapping back, through the dialect table ([`crate::service::translate`]), which also reads
//! tools and `response_format` and the sampling fields; earlier
//! `tool_calls` and `tool` messages enter the prompt as calls and results, which the
//! backend's chat format spells for its model.

use std::collections::HashMap;

use gemd_engine::{ChatPrompt, Piece, Role, Turn};
use gemd_wire::gemini::FunctionCall as GeminiCall;
use gemd_wire::openai::{
    ChatCompletionRequest, ChatMessage, ContentPart, FinishReason, FunctionCall, StringOrList, ToolCall,
};
use serde_json::Value;

use crate::service::catalog::Served;
use crate::service::error::ApiError;
use crate::service::generation::{response_id, ContentError};
use crate::service::tools::Ending;
use crate::service::translate;
use crate::service::translate::messages::{arguments_string, arguments_value, data_url_mime};

/// Checks what the request asks for against what the model and its backend can do.
pub fn check_supported(req: &ChatCompletionRequest) -> Result<(), ApiError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(ApiError::NotYetSupported {
            feature: "n > 1",
            advice: Some("send one request per choice"),
            field: "n",
        });
    }
    if req.google().is_some_and(|g| g.cached_content.is_some()) {
        return Err(ApiError::NotYetSupported {
            feature: "cached_content",
            advice: None,
            field: "extra_body.google.cached_content",
        });
    }
    Ok(())
}

/// system and developer messages become the system instruction (in order); assistant turns
/// are the model's; user and tool messages are the user's (a run of tool messages is one
/// block of results, named after the calls they answer).
pub fn chat_prompt(req: &ChatCompletionRequest, served: &Served) -> Result<ChatPrompt, ApiError> {
    let mut system = Vec::new();
    let mut turns = Vec::with_capacity(req.messages.len());
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (i, m) in req.messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let text = message_text(m, served, &at)?;
        if m.role == "tool" || m.role == "function" {
            let by_id = m.tool_call_id.as_deref().and_then(|id| call_names.get(id).copied());
            let name = by_id.or(m.name.as_deref()).unwrap_or("function").to_string();
            let response = serde_json::from_str(&text).unwrap_or(Value::String(text));
            // A run of tool messages is one user turn of results (the chat format merges them).
            turns.push(Turn { role: Role::User, pieces: vec![Piece::Result { name, response }] });
            continue;
        }
        match m.role.as_str() {
            "system" | "developer" => {
                served.check_system_instruction(&at)?;
                system.push(text);
            }
            "assistant" => {
                for c in &m.tool_calls {
                    if let Some(id) = c.id.as_deref() {
                        call_names.insert(id, c.function.name.as_str());
                    }
                }
                turns.push(Turn { role: Role::Model, pieces: with_tool_calls(text, &m.tool_calls) })
            }
            _ => turns.push(Turn::text(Role::User, text)),
        }
    }
    Ok(ChatPrompt { system: (!system.is_empty()).then(|| system.join("\n\n")), turns, ..Default::default() })
}

fn message_text(m: &ChatMessage, served: &Served, at: &str) -> Result<String, ApiError> {
    let parts = match &m.content {
        None => return Ok(String::new()),
        Some(StringOrList::String(text)) => return Ok(text.clone()),
        Some(StringOrList::List(parts)) => parts,
    };
    let mut pieces = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let field = format!("{at}.content[{j}]");
        pieces.push(part_text(part, served, field)?);
    }
    Ok(pieces.join("\n"))
}

fn part_text(part: &ContentPart, served: &Served, field: String) -> Result<String, ApiError> {
    match part.kind.as_str() {
        "text" => Ok(part.text.clone().unwrap_or_default()),
        "refusal" => Ok(part.refusal.clone().unwrap_or_default()),
        "image_url" => {
            let mime = part.image_url().and_then(data_url_mime).unwrap_or("image/*");
            Err(served.refuse_media(mime, format!("{field}.image_url")))
        }
        "input_audio" => {
            let format = part.input_audio.as_ref().map(|a| a.format.as_str()).filter(|f| !f.is_empty()).unwrap_or("*");
            Err(served.refuse_media(&format!("audio/{format}"), format!("{field}.input_audio")))
        }
        "file" => {
            let data = part.file.as_ref().and_then(|f| f.get("file_data")).and_then(Value::as_str);
            let mime = data.and_then(data_url_mime).unwrap_or("application/octet-stream");
            Err(served.refuse_media(mime, format!("{field}.file")))
        }
        other => Err(ContentError::PartTypeUnsupported { kind: other.to_string(), part: field }.into()),
    }
}

/// An assistant turn: its text, then the calls it made (kept in the history, so the tool
/// results that follow make sense to the model).
fn with_tool_calls(text: String, calls: &[ToolCall]) -> Vec<Piece> {
    let text = (!text.is_empty() || calls.is_empty()).then_some(Piece::Text(text));
    // Arguments are a JSON string; one that does not parse is kept as a string.
    let calls = calls
        .iter()
        .map(|c| Piece::Call { name: c.function.name.clone(), args: arguments_value(&c.function.arguments) });
    text.into_iter().chain(calls).collect()
}

/// Calls of an answer in the OpenAI shape: fresh `call_…` ids, arguments as a JSON string.
/// `index` is set for streamed deltas.
pub fn tool_calls(calls: &[GeminiCall], streamed: bool) -> Vec<ToolCall> {
    calls
        .iter()
        .enumerate()
        .map(|(i, c)| ToolCall {
            index: streamed.then_some(i as u32),
            id: Some(format!("call_{}", response_id())),
            kind: Some("function".into()),
            function: FunctionCall { name: c.name.clone(), arguments: arguments_string(c.args.as_ref()) },
        })
        .collect()
}

pub fn finish_reason(ending: &Ending) -> FinishReason {
    translate::finish::to_openai(ending.finish_reason(), !ending.calls().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_stay_in_the_history() {
        let call = ToolCall {
            id: Some("call_0".into()),
            function: FunctionCall { name: "get_weather".into(), arguments: "{\"city\":\"Paris\"}".into() },
            ..Default::default()
        };
        let piece = Piece::Call { name: "get_weather".into(), args: serde_json::json!({"city": "Paris"}) };
        assert_eq!(with_tool_calls(String::new(), std::slice::from_ref(&call)), vec![piece.clone()]);
        assert_eq!(with_tool_calls("Let me check.".into(), &[call]), vec![Piece::Text("Let me check.".into()), piece]);
        assert_eq!(with_tool_calls(String::new(), &[]), vec![Piece::Text(String::new())]);
    }

    #[test]
    fn answer_calls_get_ids_and_string_arguments() {
        let c = GeminiCall { id: None, name: "f".into(), args: Some(serde_json::json!({"a": 1})) };
        let out = tool_calls(&[c], true);
        assert_eq!(
            (out[0].index, out[0].function.arguments.as_str(), out[0].kind.as_deref()),
            (Some(0), "{\"a\": 1}", Some("function"))
        );
        assert!(out[0].id.as_deref().unwrap().starts_with("call_"));
    }
}
