//! From a Gemini request to what the engine runs (a chat prompt and sampling parameters), with
//! every feature this backend cannot honour refused up front with a 400 that names the field;
//! and from engine output back to Gemini responses.

use gemd_engine::{ChatPrompt, Finish, Role, Turn};
use gemd_wire::gemini::{Candidate, Content, FinishReason, GenerateContentRequest, GenerateContentResponse, Part, UsageMetadata};
use gemd_wire::proto::decode_base64;

use crate::catalog::Served;
use crate::error::ApiError;

/// Checks what the request asks for against what the model and its backend can do.
pub fn check_supported(req: &GenerateContentRequest, served: &Served) -> Result<(), ApiError> {
    let id = &served.spec.id;
    if req.system_instruction.is_some() {
        served.check_system_instruction("system_instruction")?;
    }
    for (i, tool) in req.tools.iter().enumerate() {
        let kind = tool.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
        return Err(ApiError::invalid(
            format!("Tool \"{kind}\" is not supported by models/{id} on this server yet (backend {}); send the request without tools.", served.engine.info().name),
            Some(format!("tools[{i}]")),
        ));
    }
    if req.cached_content.is_some() {
        return Err(ApiError::invalid("cachedContent is not supported on this server yet.", Some("cached_content".into())));
    }
    if let Some(cfg) = &req.generation_config {
        if cfg.candidate_count.is_some_and(|n| n > 1) {
            return Err(ApiError::invalid(
                "candidate_count > 1 is not supported on this server yet; send one request per candidate.",
                Some("generation_config.candidate_count".into()),
            ));
        }
        if cfg.response_schema.is_some() || cfg.response_json_schema.is_some() {
            return Err(ApiError::invalid(
                format!("Structured output (response_schema) is not supported by models/{id} on this server yet."),
                Some("generation_config.response_schema".into()),
            ));
        }
        if let Some(mime) = cfg.response_mime_type.as_deref().filter(|m| !m.is_empty() && *m != "text/plain") {
            return Err(ApiError::invalid(
                format!("response_mime_type \"{mime}\" is not supported by models/{id} on this server yet; only text/plain is."),
                Some("generation_config.response_mime_type".into()),
            ));
        }
        if let Some(m) = cfg.response_modalities.iter().find(|m| m.as_str() != "TEXT") {
            return Err(ApiError::invalid(
                format!("Response modality {m} is not supported by models/{id}; only TEXT is."),
                Some("generation_config.response_modalities".into()),
            ));
        }
    }
    Ok(())
}

/// Builds the chat prompt: text parts only; `text/*` inline data is read as text; images and
/// other media are refused when the backend cannot see them.
pub fn chat_prompt(req: &GenerateContentRequest, served: &Served) -> Result<ChatPrompt, ApiError> {
    let system = match &req.system_instruction {
        Some(si) => Some(content_text(si, served, "system_instruction")?),
        None => None,
    };
    let mut turns = Vec::with_capacity(req.contents.len());
    for (i, c) in req.contents.iter().enumerate() {
        let role = match c.role.as_deref() {
            Some("model") => Role::Model,
            _ => Role::User,
        };
        turns.push(Turn { role, text: content_text(c, served, &format!("contents[{i}]"))? });
    }
    Ok(ChatPrompt { system, turns })
}

fn content_text(content: &Content, served: &Served, at: &str) -> Result<String, ApiError> {
    let mut pieces = Vec::with_capacity(content.parts.len());
    for (j, part) in content.parts.iter().enumerate() {
        if part.thought {
            // Thought summaries from an earlier answer are not fed back to the model.
            continue;
        }
        let field = format!("{at}.parts[{j}]");
        if let Some(text) = &part.text {
            pieces.push(text.clone());
        } else if let Some(blob) = &part.inline_data {
            pieces.push(inline_text(blob.mime_type.as_str(), &blob.data, served, &field)?);
        } else {
            let member = part.data_members().first().copied().unwrap_or("data");
            return Err(ApiError::invalid(
                format!("Part type \"{member}\" is not supported by models/{} on this server yet (backend {}).", served.spec.id, served.engine.info().name),
                Some(format!("{field}.{member}")),
            ));
        }
    }
    Ok(pieces.join("\n"))
}

fn inline_text(mime: &str, data: &str, served: &Served, field: &str) -> Result<String, ApiError> {
    if mime.starts_with("text/") || mime == "application/json" {
        let bytes = decode_base64(data).unwrap_or_default();
        return String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid(format!("inline_data of type {mime} is not valid UTF-8."), Some(format!("{field}.inline_data.data"))));
    }
    Err(served.refuse_media(mime, format!("{field}.inline_data")))
}

/// One response chunk (or the whole response) in the wire shape.
pub fn response(text: Option<String>, finish: Option<Finish>, usage: UsageMetadata, model_version: &str, response_id: &str) -> GenerateContentResponse {
    let content = text.map(|t| Content { role: Some("model".into()), parts: vec![Part::text(t)] });
    GenerateContentResponse {
        candidates: vec![Candidate {
            content,
            finish_reason: finish.map(|f| match f {
                Finish::Stop => FinishReason::Stop,
                Finish::MaxTokens => FinishReason::MaxTokens,
            }),
            finish_message: None,
            index: 0,
        }],
        prompt_feedback: None,
        usage_metadata: Some(usage),
        model_version: model_version.to_string(),
        response_id: response_id.to_string(),
    }
}
