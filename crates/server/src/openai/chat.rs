//! `POST chat/completions`, whole or streamed (`stream: true`).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gemd_wire::openai::{parse_chat_completion, ChatCompletion, ResponseMessage, Usage};

use super::convert::{chat_prompt, check_supported, finish_reason, sampling, tool_calls};
use super::stream::ChunkWriter;
use crate::auth::OpenAiAuthenticated;
use crate::body::read_limited;
use crate::error::{json_response, ApiError, OpenAiError};
use crate::generation;
use crate::tools::Ending;
use crate::state::AppState;

pub async fn completions(OpenAiAuthenticated(caller): OpenAiAuthenticated, State(state): State<AppState>, body: Body) -> Result<Response, OpenAiError> {
    let bytes = read_limited(body, state.limits.max_body_bytes).await?;
    let req = parse_chat_completion(&bytes)?;
    let model = req.model_id().to_string();
    // The layer runs generateContent underneath, and says so when the model is unknown.
    let served = state.catalog.get(&model).cloned().ok_or_else(|| ApiError::ModelNotFound {
        model: model.clone(),
        version: "v1beta".into(),
        method: "generateContent".into(),
    })?;
    check_supported(&req)?;
    let plan = crate::tools::openai::plan(&req)?;
    let run = generation::start(&served, chat_prompt(&req, &served)?, sampling(&req, &served)?, &plan, &state.access, &caller).await?;
    let id = format!("chatcmpl-{}", run.response_id);
    let created = unix_now();
    let resp = if req.stream {
        let writer = ChunkWriter::new(id, created, model, run.prompt_tokens, req.include_usage());
        generation::stream_response(run, writer, HeaderValue::from_static("text/event-stream")).await?
    } else {
        let c = run.complete().await?;
        let usage = Usage::new(c.prompt_tokens, c.output_tokens);
        let message = match &c.ending {
            Ending::Calls(calls) => ResponseMessage { role: "assistant".into(), content: None, tool_calls: tool_calls(calls, false) },
            _ => ResponseMessage { role: "assistant".into(), content: Some(c.text), tool_calls: Vec::new() },
        };
        json_response(StatusCode::OK, &ChatCompletion::new(&id, created, &model, message, finish_reason(&c.ending), usage))
    };
    Ok(generation::tag_backend(resp, &served))
}

/// Seconds since the Unix epoch (`created`).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
