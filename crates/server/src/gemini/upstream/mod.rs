//! Native calls of a routed id (`backends = ["a", "b"]`, or an upstream at all): the
//! request is checked by gemd's own parser (the same 400s as for a local id), admitted
//! against the caller's quota on gemd's estimate of its prompt
//! ([`crate::service::estimate`]), then tried on each backend in order. A Gemini upstream
//! gets the request's bytes as they came and its answer goes back as it is ([`pass`]); an
//! OpenAI-compatible one gets it translated to chat completions and its answer is translated
//! back ([`translated`]); either's stream is re-framed, SSE or JSON array as the client asked
//! ([`relay`]). The ledger records the upstream's own usage. A backend that fails before its answer starts (it
//! retried already) passes the request to the next; a 4xx from an upstream is its verdict on
//! the request and goes back to the client; a local backend answers as for a plain id, and
//! passes only when it is overloaded or shutting down; a replaying backend without a recording
//! of the request answers 404 itself. After an answer has started, a failure
//! ends the stream with an error event.

mod pass;
mod relay;
mod translated;

use axum::body::Bytes;
use axum::response::Response;
use gemd_engine::upstream::{GeminiMethod, Upstream, UpstreamError, UpstreamReply};
use gemd_engine::EngineError;
use gemd_wire::gemini::GenerateContentRequest;
use gemd_wire::parse::{parse_count_tokens, parse_generate, parse_json};
use serde_json::Value;

use super::stream::Framing;
use super::Gate;
use crate::http::backend_header::tag_backend;
use crate::service::access::Ticket;
use crate::service::catalog::{Hop, Route};
use crate::service::error::ApiError;
use crate::service::estimate;
use crate::service::translate::answer::Reading;
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

/// The request as each kind of upstream needs it: its bytes (a Gemini upstream), its parsed
/// form (an OpenAI one, translated), its JSON (estimates).
struct Request {
    bytes: Bytes,
    json: Value,
    /// `None` for countTokens.
    generate: Option<GenerateContentRequest>,
}

/// An upstream's answer and how to read it.
enum Sent {
    Gemini(UpstreamReply),
    OpenAi(UpstreamReply, Reading),
    /// Answered without the upstream (countTokens on an OpenAI upstream).
    Estimated,
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
    let generate = match call {
        Call::CountTokens => {
            drop(parse_count_tokens(&bytes)?);
            None
        }
        _ => Some(parse_generate(&bytes)?),
    };
    let request = Request { json: parse_json(&bytes)?, bytes, generate };
    let id = route.spec.id.as_str();
    let admit = || async {
        match call {
            Call::CountTokens => gate.access.admit_count_tokens(gate.caller, id).await.map(|()| None),
            _ => gate.access.admit(gate.caller, id, estimate::prompt_tokens(&request.json)).await.map(Some),
        }
    };
    let mut ticket = admit().await?;
    let mut failures = Vec::new();
    for hop in &route.hops {
        match hop {
            Hop::Upstream(upstream) => match send(upstream, version, id, &model_version, call, &request).await? {
                Ok(sent) => {
                    let resp = match sent {
                        Sent::Gemini(reply) => pass::answer(reply, call, ticket.take()).await?,
                        Sent::OpenAi(reply, reading) => translated::answer(reply, reading, call, ticket.take()).await?,
                        Sent::Estimated => translated::count_tokens(&request.json),
                    };
                    return Ok(tag_backend(resp, upstream.name()));
                }
                Err(UpstreamError::NotRecorded(missing)) => {
                    // A replay backend's miss is the answer: a live fallback would make the run
                    // depend on the network again.
                    if let Some(mut t) = ticket {
                        t.refund();
                    }
                    return Err(ApiError::NotRecorded(missing));
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
                let bytes = &request.bytes;
                let local = match call {
                    Call::Generate => super::generate::generate(served, &model_version, bytes, gate).await,
                    Call::Stream(framing) => {
                        super::generate::stream_generate(served, model_version.clone(), bytes, framing, gate).await
                    }
                    Call::CountTokens => super::generate::count_tokens(served, bytes, gate).await,
                };
                match local {
                    Err(ApiError::Engine(e @ (EngineError::Overloaded | EngineError::ShuttingDown))) => {
                        tracing::warn!(model = %id, error = %e, "local backend cannot take the request; trying the next");
                        failures
                            .push(UpstreamError::Unavailable { backend: served.backend_name(), reason: e.to_string() });
                        // A later upstream hop needs an admission again.
                        ticket = admit().await?;
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

/// Sends the request to one upstream: `Err` is a refusal to give the client (a request the
/// translation refuses), `Ok(Err)` a failure that passes the request to the next backend.
async fn send(
    upstream: &Upstream,
    version: ApiVersion,
    id: &str,
    model_version: &str,
    call: Call,
    request: &Request,
) -> Result<Result<Sent, UpstreamError>, ApiError> {
    Ok(match upstream {
        Upstream::Gemini(g) => {
            g.call(version.as_str(), id, call.method(), request.bytes.clone()).await.map(Sent::Gemini)
        }
        Upstream::OpenAi(o) => match &request.generate {
            None => Ok(Sent::Estimated),
            Some(req) => {
                let (body, reading) = translated::request(o, id, model_version, req, matches!(call, Call::Stream(_)))?;
                o.chat(body).await.map(|reply| Sent::OpenAi(reply, reading))
            }
        },
    })
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
