//! `POST chat/completions`, whole or streamed (`stream: true`), on a local engine; ids with a
//! list of backends, or an upstream, go on to [`super::routed`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gemd_wire::openai::{parse_chat_completion, ChatCompletion, ChatCompletionRequest, ResponseMessage, Usage};

use super::convert::{chat_prompt, check_supported, finish_reason, tool_calls};
use super::stream::ChunkWriter;
use super::OpenAiResult;
use crate::http::auth::Authenticated;
use crate::http::backend_header::tag_backend;
use crate::http::body::{LimitedBody, PublicLimit};
use crate::http::error::OpenAi;
use crate::http::json::json_response;
use crate::http::state::AppState;
use crate::http::stream::{stream_response, with_stream_end};
use crate::service::access::{Access, Caller};
use crate::service::catalog::Served;
use crate::service::error::ApiError;
use crate::service::generation::{self, GenerateRequest};
use crate::service::translate;
use crate::service::version::ApiVersion;

pub async fn completions(
    auth: Authenticated<OpenAi>,
    State(state): State<AppState>,
    body: LimitedBody<PublicLimit, OpenAi>,
) -> OpenAiResult<Response> {
    let bytes = body.bytes().await?;
    let req = parse_chat_completion(&bytes)?;
    let model = req.model_id().to_string();
    if let Some(route) = state.catalog.route(&model) {
        return Ok(super::routed::completions(route, &state.access, &auth.caller, &bytes, &req).await?);
    }
    // The layer runs generateContent of v1beta underneath, and says so when the model is unknown.
    let served = state
        .catalog
        .get(&model)
        .cloned()
        .ok_or_else(|| ApiError::model_not_found(ApiVersion::V1Beta, &model, "generateContent"))?;
    let resp = local(&served, &req, &state.access, &auth.caller).await?;
    Ok(tag_backend(resp, &served.backend_name()))
}

/// The completion of `req` on a local engine.
pub async fn local(
    served: &Served,
    req: &ChatCompletionRequest,
    access: &Arc<Access>,
    caller: &Caller,
) -> Result<Response, ApiError> {
    check_supported(req)?;
    let plan = translate::plan::from_openai(req)?;
    let chat = chat_prompt(req, served)?;
    let request = GenerateRequest { options: translate::sampling::from_openai(req), plan }.validate(served)?;
    let run = generation::start(served, chat, request, access, caller).await?;
    let id = format!("chatcmpl-{}", run.response_id);
    let created = unix_now();
    let model = req.model_id().to_string();
    Ok(if req.stream {
        let writer = ChunkWriter::new(id, created, model, run.prompt_tokens, req.include_usage());
        let resp = stream_response(run.into_frames(writer).await?, HeaderValue::from_static("text/event-stream"));
        with_stream_end(resp, super::stream::stream_end())
    } else {
        let c = run.complete().await?;
        let usage = Usage::new(c.prompt_tokens, c.output_tokens);
        let message = match c.ending.calls() {
            [] => ResponseMessage { role: "assistant".into(), content: Some(c.text), tool_calls: Vec::new() },
            calls => ResponseMessage { role: "assistant".into(), content: None, tool_calls: tool_calls(calls, false) },
        };
        json_response(
            StatusCode::OK,
            &ChatCompletion::new(&id, created, &model, message, finish_reason(&c.ending), usage),
        )
    })
}

/// Seconds since the Unix epoch (`created`).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
