//! From a Gemini request to what the engine runs (a chat prompt and the surface-neutral
//! generation options), with
//! every feature this backend cannot honour refused up front with a 400 that names the field;
//! and from engine output back to Gemini responses. Tools and response formats are read by
//! [`super::tools`]; earlier `functionCall` and `functionResponse` parts enter the
//! prompt as calls and results, which the backend's chat format spells for its model.

use gemd_engine::chat::tool_syntax::compact;
use gemd_engine::{ChatPrompt, Piece, Role, Turn};
use gemd_wire::gemini::{
    Candidate, Content, GenerateContentRequest, GenerateContentResponse, GenerationConfig, Part, UsageMetadata,
};
use serde_json::Value;

use crate::service::catalog::Served;
use crate::service::error::ApiError;
use crate::service::generation::{check_unserved_features, GenerateOptions};
use crate::service::tools::{Ending, CALLS_MESSAGE};
use crate::service::translate;

/// Checks what the request asks for against what the model and its backend can do.
pub fn check_supported(req: &GenerateContentRequest, served: &Served) -> Result<(), ApiError> {
    if req.system_instruction.is_some() {
        served.check_system_instruction("system_instruction")?;
    }
    check_unserved_features(req, &served.spec.id)
}

/// The request's generation options, as the surface-neutral [`GenerateOptions`].
pub fn options(cfg: Option<&GenerationConfig>) -> GenerateOptions {
    let cap_field = "generation_config.max_output_tokens";
    let Some(cfg) = cfg else { return GenerateOptions { cap_field, ..Default::default() } };
    GenerateOptions {
        temperature: cfg.temperature,
        top_p: cfg.top_p,
        top_k: cfg.top_k,
        seed: cfg.seed,
        presence_penalty: cfg.presence_penalty,
        frequency_penalty: cfg.frequency_penalty,
        stop_sequences: cfg.stop_sequences.clone(),
        max_output_tokens: cfg.max_output_tokens,
        cap_field,
    }
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
        turns.push(Turn { role, pieces: content_pieces(c, served, &format!("contents[{i}]"))? });
    }
    Ok(ChatPrompt { system, turns, ..Default::default() })
}

/// The system instruction's text (its parts joined by newlines; a call or result part, which
/// has no place there, is kept as its JSON).
fn content_text(content: &Content, served: &Served, at: &str) -> Result<String, ApiError> {
    let texts: Vec<String> = content_pieces(content, served, at)?
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Call { name, args } => compact(&serde_json::json!({"name": name, "args": args})),
            Piece::Result { name, response } => compact(&serde_json::json!({"name": name, "response": response})),
        })
        .collect();
    Ok(texts.join("\n"))
}

fn content_pieces(content: &Content, served: &Served, at: &str) -> Result<Vec<Piece>, ApiError> {
    let mut pieces = Vec::with_capacity(content.parts.len());
    let empty = || Value::Object(Default::default());
    for (j, part) in content.parts.iter().enumerate() {
        if part.thought {
            // Thought summaries from an earlier answer are not fed back to the model.
            continue;
        }
        if let Some(call) = &part.function_call {
            pieces.push(Piece::Call { name: call.name.clone(), args: call.args.clone().unwrap_or_else(empty) });
            continue;
        }
        if let Some(result) = &part.function_response {
            pieces.push(Piece::Result {
                name: result.name.clone(),
                response: result.response.clone().unwrap_or_else(empty),
            });
            continue;
        }
        let field = format!("{at}.parts[{j}]");
        if let Some(text) = &part.text {
            pieces.push(Piece::Text(text.clone()));
        } else if let Some(blob) = &part.inline_data {
            pieces.push(Piece::Text(inline_text(blob.mime_type.as_str(), &blob.data, served, &field)?));
        } else {
            let member = part.data_members().first().copied().unwrap_or("data");
            let (model, backend) = (served.spec.id.clone(), served.backend_name());
            return Err(ApiError::PartUnsupported { member, model, backend, field: format!("{field}.{member}") });
        }
    }
    Ok(pieces)
}

fn inline_text(mime: &str, data: &str, served: &Served, field: &str) -> Result<String, ApiError> {
    translate::messages::inline_text(mime, data, field)
        .unwrap_or_else(|| Err(served.refuse_media(mime, format!("{field}.inline_data"))))
}

/// One response chunk (or the whole response) in the wire shape: the text part, then (on the
/// last chunk of an answer that calls functions) every `functionCall` part.
pub fn response(
    text: String,
    ending: Option<&Ending>,
    usage: UsageMetadata,
    model_version: &str,
    response_id: &str,
) -> GenerateContentResponse {
    let mut parts = Vec::new();
    let calls = ending.map(Ending::calls).unwrap_or_default();
    if calls.is_empty() || !text.is_empty() {
        parts.push(Part::text(text));
    }
    parts.extend(calls.iter().map(|c| Part { function_call: Some(c.clone()), ..Default::default() }));
    let content = Some(Content { role: Some("model".into()), parts });
    GenerateContentResponse {
        candidates: vec![Candidate {
            content,
            finish_reason: ending.map(Ending::finish_reason),
            finish_message: matches!(ending, Some(Ending::Calls(_))).then(|| CALLS_MESSAGE.to_string()),
            index: 0,
        }],
        prompt_feedback: None,
        usage_metadata: Some(usage),
        model_version: model_version.to_string(),
        response_id: response_id.to_string(),
    }
}
