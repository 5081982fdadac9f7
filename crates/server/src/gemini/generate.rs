//! `generateContent`, `streamGenerateContent` and `countTokens` on `models/{model}:{method}`.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream;
use gemd_engine::{EngineError, Event, EventStream, Finish};
use gemd_wire::gemini::{CountTokensResponse, GenerateContentRequest, ModalityTokenCount, UsageMetadata};
use gemd_wire::parse::{parse_count_tokens, parse_generate};
use rand::distributions::Alphanumeric;
use rand::Rng;

use super::convert::{chat_prompt, check_supported, response, sampling_params};
use super::models::check_version;
use super::stream::Framing;
use crate::auth::Authenticated;
use crate::body::read_limited;
use crate::catalog::Served;
use crate::error::{json_response, ApiError};
use crate::query::RequestQuery;
use crate::state::AppState;

static BACKEND_HEADER: HeaderName = HeaderName::from_static("x-gemd-backend");

/// Routes `POST /{version}/models/{model}:{method}`.
pub async fn dispatch(
    _: Authenticated,
    Path((version, name)): Path<(String, String)>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    let Some((model, method)) = name.rsplit_once(':') else {
        return Err(ApiError::NotFound(format!("Method not found: POST models/{name}. Use models/{{model}}:generateContent.")));
    };
    let not_found = || ApiError::ModelNotFound { model: model.to_string(), version: version.clone(), method: method.to_string() };
    if !matches!(method, "generateContent" | "streamGenerateContent" | "countTokens") {
        return Err(not_found());
    }
    let served = state.catalog.get(model).cloned().ok_or_else(not_found)?;
    let bytes = read_limited(body, state.limits.max_body_bytes).await?;
    let query = RequestQuery::parse(raw.as_deref().unwrap_or(""));
    let model_version = model.strip_prefix("models/").unwrap_or(model).to_string();
    let mut resp = match method {
        "generateContent" => generate(&served, &model_version, &bytes).await?,
        "streamGenerateContent" => {
            let framing = if query.wants_sse() { Framing::Sse } else { Framing::JsonArray };
            stream_generate(&served, &model_version, &bytes, framing).await?
        }
        _ => count_tokens(&served, &bytes).await?,
    };
    if let Ok(v) = HeaderValue::from_str(&served.engine.info().name) {
        resp.headers_mut().insert(BACKEND_HEADER.clone(), v);
    }
    Ok(resp)
}

/// A generation that has been validated, tokenised and handed to the engine.
struct Started {
    events: EventStream,
    prompt_tokens: u32,
    response_id: String,
}

async fn start(served: &Served, bytes: &Bytes) -> Result<Started, ApiError> {
    let req = parse_generate(bytes)?;
    check_supported(&req, served)?;
    let params = sampling_params(&req, served);
    let prompt = tokenize(served, &req).await?;
    let limit = served.input_token_limit() as usize;
    if prompt.len() > limit {
        return Err(EngineError::PromptTooLong { tokens: prompt.len(), limit }.into());
    }
    let prompt_tokens = prompt.len() as u32;
    let events = served.engine.generate(prompt, params)?;
    Ok(Started { events, prompt_tokens, response_id: response_id() })
}

/// Renders and tokenises off the async workers (a long prompt is real CPU work).
async fn tokenize(served: &Served, req: &GenerateContentRequest) -> Result<gemd_engine::PreparedPrompt, ApiError> {
    let chat = chat_prompt(req, served)?;
    let engine = served.engine.clone();
    let prompt = tokio::task::spawn_blocking(move || engine.prepare(&chat))
        .await
        .map_err(|e| ApiError::Engine(EngineError::Internal(format!("tokeniser task: {e}"))))??;
    Ok(prompt)
}

async fn generate(served: &Served, model_version: &str, bytes: &Bytes) -> Result<Response, ApiError> {
    let mut run = start(served, bytes).await?;
    let mut text = String::new();
    loop {
        match run.events.recv().await {
            Some(Event::Text { text: t, .. }) => text.push_str(&t),
            Some(Event::Done { finish, prompt_tokens, output_tokens }) => {
                let usage = UsageMetadata::new(prompt_tokens, output_tokens);
                let body = response(Some(text), Some(finish), usage, model_version, &run.response_id);
                return Ok(json_response(StatusCode::OK, &body));
            }
            Some(Event::Failed(e)) => return Err(e.into()),
            None => return Err(EngineError::Internal("generation ended without a result".into()).into()),
        }
    }
}

/// What one pull from the engine produced for the stream.
enum Step {
    Chunk { text: String, output_tokens: u32, finish: Option<(Finish, u32)> },
    Failed(ApiError),
}

/// Waits for the next event, then takes whatever else is already queued, so a slow client
/// gets fewer, larger chunks instead of a backlog of one-token events.
async fn next_step(events: &mut EventStream) -> Option<Step> {
    let first = events.recv().await?;
    let mut text = String::new();
    let mut tokens = 0;
    let mut event = Some(first);
    while let Some(e) = event.take() {
        match e {
            Event::Text { text: t, output_tokens } => {
                text.push_str(&t);
                tokens = output_tokens;
                event = events.try_recv().ok();
            }
            Event::Done { finish, output_tokens, .. } => {
                return Some(Step::Chunk { text, output_tokens, finish: Some((finish, output_tokens)) });
            }
            Event::Failed(err) => return Some(Step::Failed(err.into())),
        }
    }
    Some(Step::Chunk { text, output_tokens: tokens, finish: None })
}

async fn stream_generate(served: &Served, model_version: &str, bytes: &Bytes, framing: Framing) -> Result<Response, ApiError> {
    let mut run = start(served, bytes).await?;
    // Wait for the first chunk before answering, so failures before any output are plain HTTP
    // errors with the right status.
    let first = match next_step(&mut run.events).await {
        Some(Step::Failed(e)) => return Err(e),
        None => return Err(EngineError::Internal("generation ended without a result".into()).into()),
        Some(step) => step,
    };
    let state = StreamState {
        events: run.events,
        pending: Some(first),
        prompt_tokens: run.prompt_tokens,
        model_version: model_version.to_string(),
        response_id: run.response_id,
        framing,
        first: true,
        finished: false,
    };
    let body = stream::unfold(state, |mut st| async move {
        let chunk = st.next_frame().await?;
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), st))
    });
    Ok(([(header::CONTENT_TYPE, framing.content_type())], Body::from_stream(body)).into_response())
}

struct StreamState {
    events: EventStream,
    pending: Option<Step>,
    prompt_tokens: u32,
    model_version: String,
    response_id: String,
    framing: Framing,
    first: bool,
    finished: bool,
}

impl StreamState {
    /// The next bytes to write, or `None` when the stream is complete.
    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        let step = match self.pending.take() {
            Some(step) => Some(step),
            None => next_step(&mut self.events).await,
        };
        let first = std::mem::replace(&mut self.first, false);
        match step {
            Some(Step::Chunk { text, output_tokens, finish }) => {
                let usage = UsageMetadata::new(self.prompt_tokens, output_tokens);
                let body = response(Some(text), finish.map(|(f, _)| f), usage, &self.model_version, &self.response_id);
                let mut out = self.framing.element(&body, first);
                if finish.is_some() {
                    self.finished = true;
                    out.push_str(self.framing.end());
                }
                Some(out)
            }
            Some(Step::Failed(e)) => {
                self.finished = true;
                Some(self.framing.error(&e.stream_event_json(), first))
            }
            None => {
                self.finished = true;
                let e = ApiError::from(EngineError::Internal("generation ended without a result".into()));
                Some(self.framing.error(&e.stream_event_json(), first))
            }
        }
    }
}

async fn count_tokens(served: &Served, bytes: &Bytes) -> Result<Response, ApiError> {
    let req = parse_count_tokens(bytes)?;
    let gen = match req.generate_content_request {
        Some(inner) => inner,
        None => GenerateContentRequest { contents: req.contents, ..Default::default() },
    };
    let prompt = tokenize(served, &gen).await?;
    let n = prompt.len() as u32;
    let body = CountTokensResponse { total_tokens: n, prompt_tokens_details: vec![ModalityTokenCount { modality: "TEXT".into(), token_count: n }] };
    Ok(json_response(StatusCode::OK, &body))
}

/// A 22-character URL-safe id, like the real service's `responseId`.
fn response_id() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(22).map(char::from).collect()
}
