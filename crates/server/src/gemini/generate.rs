//! `generateContent`, `streamGenerateContent` and `countTokens` on `models/{model}:{method}`;
//! embedding ids and methods are handed to [`super::embed`].

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gemd_wire::gemini::{CountTokensResponse, GenerateContentRequest, ModalityTokenCount, UsageMetadata};
use gemd_wire::parse::{parse_count_tokens, parse_generate};

use super::convert::{chat_prompt, check_supported, options, response};
use super::stream::{Framing, NativeChunks};
use super::{upstream, Gate};
use crate::http::auth::Authenticated;
use crate::http::backend_header::tag_backend;
use crate::http::body::LimitedBody;
use crate::http::error::ErrorResponse;
use crate::http::json::json_response;
use crate::http::query::RequestQuery;
use crate::http::state::AppState;
use crate::http::stream::{stream_response, with_stream_end};
use crate::service::access::Caller;
use crate::service::catalog::Served;
use crate::service::error::ApiError;
use crate::service::generation::{self, GenerateRequest, Started};
use crate::service::version::ApiVersion;

/// Routes `POST /{version}/models/{model}:{method}`.
pub async fn dispatch(
    auth: Authenticated,
    Path((version, name)): Path<(String, String)>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    handle(&state, &auth.caller, &version, &name, raw.as_deref(), body).await
}

/// Serves `models/{name}` (`{model}:{method}`) for `caller`: the native surface, and the
/// console's playground on behalf of a project.
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    version: &str,
    name: &str,
    raw: Option<&str>,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    let version = ApiVersion::parse(version)?;
    let Some((model, method)) = name.rsplit_once(':') else {
        return Err(ApiError::NoModelMethod { name: name.to_string() }.into());
    };
    if matches!(method, "embedContent" | "batchEmbedContents") || state.catalog.is_embedding(model) {
        return super::embed::dispatch(state, caller, version, model, method, body).await;
    }
    let not_found = || ApiError::model_not_found(version, model, method);
    if !matches!(method, "generateContent" | "streamGenerateContent" | "countTokens") {
        return Err(not_found().into());
    }
    let query = RequestQuery::parse(raw.unwrap_or(""));
    let framing = if query.wants_sse() { Framing::Sse } else { Framing::JsonArray };
    let model_version = model.strip_prefix("models/").unwrap_or(model).to_string();
    let gate = Gate { access: &state.access, caller };
    let resp = if let Some(route) = state.catalog.route(model) {
        let call = match method {
            "generateContent" => upstream::Call::Generate,
            "streamGenerateContent" => upstream::Call::Stream(framing),
            _ => upstream::Call::CountTokens,
        };
        let bytes = with_cache(state, caller, &route.spec.id, body.bytes().await?).await?;
        upstream::handle(route, version, model_version, call, bytes, gate).await?
    } else {
        let served = state.catalog.get(model).cloned().ok_or_else(not_found)?;
        let bytes = with_cache(state, caller, &served.spec.id, body.bytes().await?).await?;
        let resp = match method {
            "generateContent" => generate(&served, &model_version, &bytes, gate).await?,
            "streamGenerateContent" => stream_generate(&served, model_version, &bytes, framing, gate).await?,
            _ => count_tokens(&served, &bytes, gate).await?,
        };
        tag_backend(resp, &served.backend_name())
    };
    // A stream, local or an upstream's, says how it ends with an error raised outside it.
    Ok(match method {
        "streamGenerateContent" => with_stream_end(resp, framing.stream_end()),
        _ => resp,
    })
}

/// The request's bytes with the cache it names put in front (`cachedContent`), then the
/// files it names read into it (as text), before it is parsed.
async fn with_cache(state: &AppState, caller: &Caller, model: &str, body: Bytes) -> Result<Bytes, ApiError> {
    let now = state.access.now_ms();
    let bytes = state.caches().apply(&caller.project_id, model, body, now).await?;
    state.files.resolve_parts(&caller.project_id, bytes).await
}

/// Parses and checks the request, then starts it on the engine.
async fn start(served: &Served, bytes: &Bytes, gate: Gate<'_>) -> Result<Started, ApiError> {
    let req = parse_generate(bytes)?;
    check_supported(&req, served)?;
    let plan = super::tools::plan(&req)?;
    let request = GenerateRequest { options: options(req.generation_config.as_ref()), plan }.validate(served)?;
    generation::start(served, chat_prompt(&req, served)?, request, gate.access, gate.caller).await
}

pub(super) async fn generate(
    served: &Served,
    model_version: &str,
    bytes: &Bytes,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    let done = start(served, bytes, gate).await?;
    let response_id = done.response_id.clone();
    let c = done.complete().await?;
    let body = response(
        c.text,
        Some(&c.ending),
        UsageMetadata::new(c.prompt_tokens, c.output_tokens),
        model_version,
        &response_id,
    );
    Ok(json_response(StatusCode::OK, &body))
}

pub(super) async fn stream_generate(
    served: &Served,
    model_version: String,
    bytes: &Bytes,
    framing: Framing,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    let run = start(served, bytes, gate).await?;
    let writer = NativeChunks::new(framing, run.prompt_tokens, model_version, run.response_id.clone());
    Ok(stream_response(run.into_frames(writer).await?, framing.content_type()))
}

/// Counts the prompt's tokens, however many (the body limit bounds them, and tokenising is
/// linear), after admitting the call against the model's `countTokens` bucket.
pub(super) async fn count_tokens(served: &Served, bytes: &Bytes, gate: Gate<'_>) -> Result<Response, ApiError> {
    let req = parse_count_tokens(bytes)?;
    let gen = match req.generate_content_request {
        Some(inner) => inner,
        None => GenerateContentRequest { contents: req.contents, ..Default::default() },
    };
    // Declared functions are part of what the model reads, so they count.
    let plan = super::tools::plan(&gen)?;
    let chat = plan.prompt(chat_prompt(&gen, served)?);
    gate.access.admit_count_tokens(gate.caller, &served.spec.id).await?;
    let prompt = generation::tokenize(served, chat, None).await?;
    let n = prompt.len() as u32;
    let body = CountTokensResponse {
        total_tokens: n,
        prompt_tokens_details: vec![ModalityTokenCount { modality: "TEXT".into(), token_count: n }],
    };
    Ok(json_response(StatusCode::OK, &body))
}
