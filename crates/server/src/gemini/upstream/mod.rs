//! Native calls of a routed id (`backends = ["a", "b"]`, or an upstream at all): the
//! request is checked by gemd's own parser (the same 400s as for a local id), then tried on
//! each backend in order by [`crate::service::routing`] (admission on gemd's estimate of the
//! prompt, fallbacks, refunds). A Gemini upstream gets the request's bytes as they came, with
//! the model names inside the body rewritten to the upstream's, and its answer goes back as
//! it is ([`pass`]); an OpenAI-compatible one gets it translated to chat completions and its
//! answer is translated back ([`translated`]); either's stream is re-framed, SSE or JSON
//! array as the client asked ([`crate::http::relay`]); a local engine answers as for a plain
//! id. The ledger records the upstream's own usage. After an answer has started, a failure
//! ends the stream with an error event. Embedding ids routed the same way are served by
//! [`embed`].

pub(super) mod embed;
mod pass;
mod translated;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::response::Response;
use gemd_engine::upstream::{GeminiMethod, Upstream, UpstreamError, UpstreamReply};
use gemd_wire::gemini::GenerateContentRequest;
use gemd_wire::parse::{parse_count_tokens, parse_generate, parse_json};
use serde_json::Value;

use super::stream::Framing;
use super::Gate;
use crate::http::backend_header::tag_backend;
use crate::http::relay::Framer;
use crate::service::access::{Access, Caller, Ticket};
use crate::service::catalog::{Route, Served};
use crate::service::error::ApiError;
use crate::service::estimate;
use crate::service::routing::{local_outcome, serve, HopCall};
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

/// The request as each kind of backend needs it: its bytes (a Gemini upstream, a local
/// engine), its parsed form (an OpenAI one, translated), its JSON (estimates).
struct Request {
    bytes: Bytes,
    json: Value,
    /// `None` for countTokens.
    generate: Option<GenerateContentRequest>,
    version: ApiVersion,
    model_version: String,
    call: Call,
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
    let request = Request { json: parse_json(&bytes)?, bytes, generate, version, model_version, call };
    let (resp, backend) = serve(route, gate.access, gate.caller, &request).await?;
    Ok(tag_backend(resp, &backend))
}

impl HopCall<Served> for Request {
    type Answer = Response;

    async fn admit(&self, access: &Arc<Access>, caller: &Caller, id: &str) -> Result<Option<Ticket>, ApiError> {
        match self.call {
            Call::CountTokens => access.admit_count_tokens(caller, id).await.map(|()| None),
            _ => access.admit(caller, id, estimate::prompt_tokens(&self.json)).await.map(Some),
        }
    }

    async fn local(
        &self,
        served: &Served,
        access: &Arc<Access>,
        caller: &Caller,
    ) -> Result<Result<Response, UpstreamError>, ApiError> {
        let (bytes, gate) = (&self.bytes, Gate { access, caller });
        let local = match self.call {
            Call::Generate => super::generate::generate(served, &self.model_version, bytes, gate).await,
            Call::Stream(framing) => {
                super::generate::stream_generate(served, self.model_version.clone(), bytes, framing, gate).await
            }
            Call::CountTokens => super::generate::count_tokens(served, bytes, gate).await,
        };
        local_outcome(local, served.backend_name())
    }

    async fn upstream(
        &self,
        upstream: &Upstream,
        id: &str,
        ticket: &mut Option<Ticket>,
    ) -> Result<Result<Response, UpstreamError>, ApiError> {
        let sent = match upstream {
            Upstream::Gemini(g) => {
                let body = rewrite_models(&self.bytes, &self.json, g.transport().upstream_model(id));
                g.call(self.version.as_str(), id, self.call.method(), body).await.map(Sent::Gemini)
            }
            Upstream::OpenAi(o) => match &self.generate {
                None => Ok(Sent::Estimated),
                Some(req) => {
                    let stream = matches!(self.call, Call::Stream(_));
                    let (body, reading) = translated::request(o, id, &self.model_version, req, stream)?;
                    o.chat(body).await.map(|reply| Sent::OpenAi(reply, reading))
                }
            },
        };
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(match sent {
            Sent::Gemini(reply) => pass::answer(reply, self.call, ticket.take()).await?,
            Sent::OpenAi(reply, reading) => translated::answer(reply, reading, self.call, ticket.take()).await?,
            Sent::Estimated => translated::count_tokens(&self.json),
        }))
    }
}

/// The request's bytes for a Gemini upstream, with the model names a body can carry (an
/// embedding request's `model`, each batch request's, countTokens'
/// `generateContentRequest.model`) rewritten to the upstream's `models/{id}`, since the
/// upstream checks them against its path; the bytes as they came when none needs it.
fn rewrite_models(bytes: &Bytes, json: &Value, upstream_model: &str) -> Bytes {
    let target = format!("models/{upstream_model}");
    let mut json = json.clone();
    let mut changed = false;
    let mut rewrite = |holder: Option<&mut Value>| {
        if let Some(Value::String(m)) = holder.and_then(|h| h.get_mut("model")) {
            if *m != target {
                target.clone_into(m);
                changed = true;
            }
        }
    };
    rewrite(Some(&mut json));
    rewrite(json.get_mut("generateContentRequest"));
    if let Some(Value::Array(requests)) = json.get_mut("requests") {
        for r in requests {
            rewrite(Some(r));
        }
    }
    match changed {
        true => Bytes::from(json.to_string()),
        false => bytes.clone(),
    }
}

/// Gemini's two stream framings, for the relay of an upstream's stream.
impl Framer for Framing {
    fn content_type(&self) -> HeaderValue {
        Framing::content_type(*self)
    }

    fn element(&self, chunk: &Value, first: bool) -> String {
        Framing::element(*self, chunk, first)
    }

    fn error(&self, error_json: &str, first: bool) -> String {
        Framing::error(*self, error_json, first)
    }

    fn end(&self) -> &'static str {
        Framing::end(*self)
    }

    fn record_usage(&self, ticket: &mut Ticket, chunk: &Value) {
        record_usage(ticket, chunk);
    }
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
