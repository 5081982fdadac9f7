//! From a chat-completions request to what the engine runs (the same `ChatPrompt` and sampling
//! parameters the native surface builds), with every feature this backend cannot honour
//! refused up front with a 400 that names the field; and the finish-reason mapping back.

use gemd_engine::{ChatPrompt, Finish, Role, SamplingParams, Turn};
use gemd_wire::gemini::GenerationConfig;
use gemd_wire::openai::{ChatCompletionRequest, ChatMessage, ContentPart, FinishReason, StringOrList, ToolCall};
use serde_json::Value;

use crate::catalog::Served;
use crate::error::ApiError;
use crate::generation::sampling_params;

/// Checks what the request asks for against what the model and its backend can do.
pub fn check_supported(req: &ChatCompletionRequest, served: &Served) -> Result<(), ApiError> {
    let id = &served.spec.id;
    if req.n.is_some_and(|n| n > 1) {
        return Err(ApiError::invalid("n > 1 is not supported on this server yet; send one request per choice.", Some("n".into())));
    }
    let tool_choice = match &req.tool_choice {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if matches!(s.as_str(), "none" | "auto" | "required") => Some(s.as_str()),
        Some(Value::Object(_)) => Some("function"),
        Some(other) => {
            return Err(ApiError::invalid(
                format!("tool_choice must be \"none\", \"auto\", \"required\" or {{\"type\": \"function\", …}}, got {other}."),
                Some("tool_choice".into()),
            ))
        }
    };
    // With tool_choice "none" the model may not call any tool, so the declarations change
    // nothing and are accepted.
    if tool_choice != Some("none") {
        if !req.tools.is_empty() {
            return Err(ApiError::invalid(
                format!("Function calling (tools) is not supported by models/{id} on this server yet; send the request without tools (or with tool_choice \"none\")."),
                Some("tools".into()),
            ));
        }
        if let Some(choice @ ("required" | "function")) = tool_choice {
            return Err(ApiError::invalid(
                format!("tool_choice \"{choice}\" needs function calling, which is not supported by models/{id} on this server yet."),
                Some("tool_choice".into()),
            ));
        }
    }
    if let Some(format) = &req.response_format {
        match format.kind.as_str() {
            "" | "text" => {}
            kind @ ("json_object" | "json_schema") => {
                return Err(ApiError::invalid(
                    format!("response_format \"{kind}\" (structured output) is not supported by models/{id} on this server yet; use {{\"type\": \"text\"}}."),
                    Some("response_format".into()),
                ))
            }
            kind => {
                return Err(ApiError::invalid(
                    format!("response_format type \"{kind}\" is not supported; use \"text\", \"json_object\" or \"json_schema\"."),
                    Some("response_format.type".into()),
                ))
            }
        }
    }
    if req.google().is_some_and(|g| g.cached_content.is_some()) {
        return Err(ApiError::invalid("cached_content is not supported on this server yet.", Some("extra_body.google.cached_content".into())));
    }
    Ok(())
}

/// system and developer messages become the system instruction (in order); assistant turns
/// are the model's; user and tool messages are the user's.
pub fn chat_prompt(req: &ChatCompletionRequest, served: &Served) -> Result<ChatPrompt, ApiError> {
    let mut system = Vec::new();
    let mut turns = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let text = message_text(m, served, &at)?;
        match m.role.as_str() {
            "system" | "developer" => {
                served.check_system_instruction(&at)?;
                system.push(text);
            }
            "assistant" => turns.push(Turn { role: Role::Model, text: with_tool_calls(text, &m.tool_calls) }),
            _ => turns.push(Turn { role: Role::User, text }),
        }
    }
    Ok(ChatPrompt { system: (!system.is_empty()).then(|| system.join("\n\n")), turns })
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
        other => Err(ApiError::invalid(
            format!("Content part type \"{other}\" is not supported; use \"text\", \"image_url\", \"input_audio\" or \"file\"."),
            Some(format!("{field}.type")),
        )),
    }
}

/// The media type of a `data:` URL (`data:image/png;base64,…` → `image/png`).
fn data_url_mime(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("data:")?;
    let end = rest.find([';', ',']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|m| !m.is_empty())
}

/// An assistant turn that called tools keeps those calls in the history as text, one
/// `name(arguments)` line each, so the tool results that follow make sense to the model.
fn with_tool_calls(text: String, calls: &[ToolCall]) -> String {
    let lines = calls.iter().map(|c| format!("{}({})", c.function.name, c.function.arguments));
    std::iter::once(text).filter(|t| !t.is_empty()).chain(lines).collect::<Vec<_>>().join("\n")
}

/// The request's sampling fields through the same defaults and caps as the native surface.
pub fn sampling(req: &ChatCompletionRequest, served: &Served) -> SamplingParams {
    let cfg = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        stop_sequences: req.stop_sequences(),
        max_output_tokens: req.max_output_tokens(),
        ..Default::default()
    };
    sampling_params(Some(&cfg), served)
}

pub fn finish_reason(finish: Finish) -> FinishReason {
    match finish {
        Finish::Stop => FinishReason::Stop,
        Finish::MaxTokens => FinishReason::Length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_wire::openai::FunctionCall;

    #[test]
    fn data_url_media_types() {
        assert_eq!(data_url_mime("data:image/png;base64,iVBO"), Some("image/png"));
        assert_eq!(data_url_mime("data:,hello"), None);
        assert_eq!(data_url_mime("https://example.invalid/cat.png"), None);
    }

    #[test]
    fn tool_calls_stay_in_the_history_as_text() {
        let call = ToolCall { id: Some("call_0".into()), kind: None, function: FunctionCall { name: "get_weather".into(), arguments: "{\"city\": \"Paris\"}".into() } };
        assert_eq!(with_tool_calls(String::new(), std::slice::from_ref(&call)), "get_weather({\"city\": \"Paris\"})");
        assert_eq!(with_tool_calls("Let me check.".into(), &[call]), "Let me check.\nget_weather({\"city\": \"Paris\"})");
    }
}
