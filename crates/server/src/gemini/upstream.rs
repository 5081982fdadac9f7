//! Native calls of a routed id (`backends = ["a", "b"]`, or an upstream at all): the
//! request is checked by gemd's own parser (the same 400s as for a local id), admitted
//! against the caller's quota on gemd's estimate of its prompt
//! ([`crate::service::estimate`]), then tried on each backend in order. A Gemini upstream
//! gets the request's bytes as they came and its answer goes back as it is (a stream is
//! re-framed, SSE or JSON array as the client asked, each chunk's JSON kept); the ledger
//! records the upstream's own usage. A backend that fails before its answer starts (it
//! retried already) passes the request to the next; a 4xx from an upstream is its verdict on
//! the request and goes back to the client; a local backend answers as for a plain id, and
//! passes only when it is overloaded or shutting down. After an answer has started, a failure
//! ends the stream with an error event.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::StreamExt;
use gemd_engine::upstream::{GeminiMethod, SseEvents, UpstreamError, UpstreamReply};
use gemd_engine::EngineError;
use gemd_wire::parse::{parse_count_tokens, parse_generate, parse_json};
use serde_json::Value;

use super::stream::Framing;
use super::Gate;
use crate::http::backend_header::tag_backend;
use crate::service::access::Ticket;
use crate::service::catalog::{Hop, Route};
use crate::service::error::ApiError;
use crate::service::estimate;
use crate::service::version::ApiVersion;

/// What the client asked of the routed id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Generate,
    Stream(Framing),
    CountTokens,
}

impl Call {
    fn method(self) -> GeminiMethod {
        match self {
            Call::Generate => GeminiMethod::Generate,
            Call::Stream(_) => GeminiMethod::Stream,
            Call::CountTokens => GeminiMethod::CountTokens,
        }
    }
}

pub async fn handle(
    route: &Route,
    version: ApiVersion,
    model_version: String,
    call: Call,
    bytes: Bytes,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    // The same checks, in the same words, as for a local id; the bytes go upstream unchanged.
    match call {
        Call::CountTokens => drop(parse_count_tokens(&bytes)?),
        _ => drop(parse_generate(&bytes)?),
    }
    let id = route.spec.id.as_str();
    let mut ticket = match call {
        Call::CountTokens => {
            gate.access.admit_count_tokens(gate.caller, id).await?;
            None
        }
        _ => Some(gate.access.admit(gate.caller, id, estimate::prompt_tokens(&parse_json(&bytes)?)).await?),
    };
    let mut failures = Vec::new();
    for hop in &route.hops {
        match hop {
            Hop::Gemini(upstream) => match upstream.call(version.as_str(), id, call.method(), bytes.clone()).await {
                Ok(reply) => {
                    let resp = answer(reply, upstream.name(), call, ticket.take()).await?;
                    return Ok(tag_backend(resp, upstream.name()));
                }
                Err(e) => {
                    tracing::warn!(model = %id, error = %e, "backend failed; trying the next");
                    failures.push(e);
                }
            },
            Hop::Local(served) => {
                // The local path admits on its own count of the prompt.
                if let Some(mut t) = ticket.take() {
                    t.refund();
                }
                let local = match call {
                    Call::Generate => super::generate::generate(served, &model_version, &bytes, gate).await,
                    Call::Stream(framing) => {
                        super::generate::stream_generate(served, model_version.clone(), &bytes, framing, gate).await
                    }
                    Call::CountTokens => super::generate::count_tokens(served, &bytes, gate).await,
                };
                match local {
                    Err(ApiError::Engine(e @ (EngineError::Overloaded | EngineError::ShuttingDown))) => {
                        tracing::warn!(model = %id, error = %e, "local backend cannot take the request; trying the next");
                        failures
                            .push(UpstreamError::Unavailable { backend: served.backend_name(), reason: e.to_string() });
                        // A later upstream hop needs an admission again.
                        if call != Call::CountTokens {
                            let tokens = estimate::prompt_tokens(&parse_json(&bytes)?);
                            ticket = Some(gate.access.admit(gate.caller, id, tokens).await?);
                        }
                    }
                    other => return other.map(|resp| tag_backend(resp, &served.backend_name())),
                }
            }
        }
    }
    if let Some(mut t) = ticket {
        t.refund();
    }
    tracing::warn!(model = %id, failures = ?failures, "no backend could answer");
    Err(ApiError::NoBackend { model: id.to_string(), failures })
}

/// The upstream's answer as the client's: a verdict (4xx) as it is and not charged, a whole
/// answer as it is, a stream re-framed.
async fn answer(reply: UpstreamReply, backend: &str, call: Call, ticket: Option<Ticket>) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if !status.is_success() {
        if let Some(mut t) = ticket {
            t.refund();
        }
        let content_type = reply.content_type.clone();
        let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
        return Ok(whole(status, content_type, body));
    }
    match call {
        Call::Stream(framing) => Ok(stream(reply, backend.to_string(), framing, ticket)),
        _ => {
            let content_type = reply.content_type.clone();
            let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
            if let Some(mut t) = ticket {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    record_usage(&mut t, &v);
                }
                // In the ledger before the answer is sent.
                t.settle().await;
            }
            Ok(whole(status, content_type, body))
        }
    }
}

fn whole(status: StatusCode, content_type: Option<String>, body: Bytes) -> Response {
    let ct = content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
        .unwrap_or(HeaderValue::from_static("application/json; charset=UTF-8"));
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

/// The upstream's usage, where the answer (or chunk) carries it.
fn record_usage(ticket: &mut Ticket, v: &Value) {
    let Some(usage) = v.get("usageMetadata") else { return };
    let count = |k: &str| usage.get(k).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32);
    if let Some(n) = count("promptTokenCount") {
        ticket.set_prompt_tokens(n);
    }
    let candidates = count("candidatesTokenCount").unwrap_or(0) + count("thoughtsTokenCount").unwrap_or(0);
    ticket.set_output_tokens(candidates);
}

/// The upstream's SSE events re-framed for the client, one chunk each, its JSON kept; a cut
/// ends the stream with an error event. The ticket rides along and is settled at the end (or
/// written when the client goes away, with the usage seen so far).
fn stream(reply: UpstreamReply, backend: String, framing: Framing, ticket: Option<Ticket>) -> Response {
    struct State {
        backend: String,
        chunks: BoxStream<'static, Result<Bytes, UpstreamError>>,
        events: SseEvents,
        framing: Framing,
        first: bool,
        ticket: Option<Ticket>,
        done: bool,
    }
    impl State {
        fn frame(&mut self, data: &str) -> String {
            let first = std::mem::replace(&mut self.first, false);
            match serde_json::from_str::<Value>(data) {
                Ok(v) => {
                    if let Some(t) = &mut self.ticket {
                        record_usage(t, &v);
                    }
                    self.framing.element(&v, first)
                }
                // Not JSON: not something to pass on as a chunk.
                Err(e) => {
                    let cut = UpstreamError::Cut {
                        backend: self.backend.clone(),
                        reason: format!("a chunk is not JSON: {e}"),
                    };
                    self.done = true;
                    self.framing.error(&ApiError::UpstreamCut(cut).stream_event_json(), first)
                }
            }
        }
    }
    let chunks = reply.chunks();
    let state = State { backend, chunks, events: SseEvents::default(), framing, first: true, ticket, done: false };
    let body = futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            match s.chunks.next().await {
                Some(Ok(bytes)) => {
                    let out: String = match s.events.feed(&bytes) {
                        Ok(events) => events.iter().map(|d| s.frame(d)).collect(),
                        Err(e) => {
                            s.done = true;
                            let first = std::mem::replace(&mut s.first, false);
                            let cut = UpstreamError::Cut { backend: s.backend.clone(), reason: e.to_string() };
                            s.framing.error(&ApiError::UpstreamCut(cut).stream_event_json(), first)
                        }
                    };
                    if !out.is_empty() {
                        return Some((Ok::<_, std::convert::Infallible>(Bytes::from(out)), s));
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    let first = std::mem::replace(&mut s.first, false);
                    let out = s.framing.error(&ApiError::UpstreamCut(e).stream_event_json(), first);
                    return Some((Ok(Bytes::from(out)), s));
                }
                None => {
                    s.done = true;
                    let mut out: String = s.events.finish().iter().map(|d| s.frame(d)).collect();
                    if s.first {
                        // An upstream stream with no chunk at all is a failure too.
                        let cut =
                            UpstreamError::Cut { backend: s.backend.clone(), reason: "the stream was empty".into() };
                        out = s.framing.error(&ApiError::UpstreamCut(cut).stream_event_json(), true);
                    } else {
                        out.push_str(s.framing.end());
                    }
                    if let Some(t) = &mut s.ticket {
                        t.settle().await;
                    }
                    return Some((Ok(Bytes::from(out)), s));
                }
            }
        }
    });
    ([(header::CONTENT_TYPE, framing.content_type())], Body::from_stream(body)).into_response()
}
