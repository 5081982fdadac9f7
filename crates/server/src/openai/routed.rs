//! `chat/completions` of an id with a list of backends, or an upstream, tried in order by
//! [`crate::service::routing`]. The request is already in the dialect of both kinds of
//! upstream: an OpenAI-compatible server gets it at `{base_url}/chat/completions`, a Gemini
//! one (Google, another gemd) at its own OpenAI layer, `{base_url}/v1beta/openai/`, both with
//! the model renamed to the upstream's and nothing else changed; the answer goes back as the
//! upstream gave it, a stream relayed event by event (a failure after the first byte ends it
//! with an error event, as gemd's own streams do). A local engine answers as for a plain id.
//!
//! Quota: admitted on gemd's estimate of the request, recorded at the upstream's `usage`
//! where the answer has one (a stream has it only when the client asked
//! `stream_options.include_usage`; otherwise the ledger keeps the estimate and no output
//! count).

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use gemd_engine::upstream::{Upstream, UpstreamError, UpstreamReply};
use gemd_wire::openai::ChatCompletionRequest;
use gemd_wire::parse::parse_json;
use serde_json::Value;

use crate::http::backend_header::tag_backend;
use crate::http::relay::{relay, whole, AsItIs, Framer};
use crate::http::stream::with_stream_end;
use crate::service::access::{Access, Caller, Ticket};
use crate::service::catalog::{Route, Served};
use crate::service::error::ApiError;
use crate::service::estimate;
use crate::service::routing::{local_outcome, refund, serve, HopCall};

struct Routed<'a> {
    req: &'a ChatCompletionRequest,
    json: Value,
}

pub async fn completions(
    route: &Route,
    access: &Arc<Access>,
    caller: &Caller,
    bytes: &[u8],
    req: &ChatCompletionRequest,
) -> Result<Response, ApiError> {
    let call = Routed { req, json: parse_json(bytes)? };
    let (resp, backend) = serve(route, access, caller, &call).await?;
    let resp = match req.stream {
        true => with_stream_end(resp, super::stream::stream_end()),
        false => resp,
    };
    Ok(tag_backend(resp, &backend))
}

impl HopCall<Served> for Routed<'_> {
    type Answer = Response;

    async fn admit(&self, access: &Arc<Access>, caller: &Caller, id: &str) -> Result<Option<Ticket>, ApiError> {
        access.admit(caller, id, estimate::prompt_tokens(&self.json)).await.map(Some)
    }

    async fn local(
        &self,
        served: &Served,
        access: &Arc<Access>,
        caller: &Caller,
    ) -> Result<Result<Response, UpstreamError>, ApiError> {
        local_outcome(super::chat::local(served, self.req, access, caller).await, served.backend_name())
    }

    async fn upstream(
        &self,
        upstream: &Upstream,
        id: &str,
        ticket: &mut Option<Ticket>,
    ) -> Result<Result<Response, UpstreamError>, ApiError> {
        let mut body = self.json.clone();
        body["model"] = Value::String(upstream.transport().upstream_model(id).to_string());
        let body = body.to_string().into();
        let sent = match upstream {
            Upstream::OpenAi(o) => o.chat(body).await,
            Upstream::Gemini(g) => g.openai_chat(body).await,
        };
        match sent {
            Ok(reply) => answer(reply, self.req.stream, ticket.take()).await.map(Ok),
            Err(e) => Ok(Err(e)),
        }
    }
}

async fn answer(reply: UpstreamReply, stream: bool, ticket: Option<Ticket>) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if status.is_success() && stream {
        let source = AsItIs::new(reply.backend());
        return Ok(relay(reply, ChatChunks, ticket, source));
    }
    let content_type = reply.content_type.clone();
    let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
    if !status.is_success() {
        // The upstream's verdict on the request, in its words; nothing was served.
        refund(ticket);
    } else if let Some(mut t) = ticket {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            ChatChunks.record_usage(&mut t, &v);
        }
        // In the ledger before the answer is sent.
        t.settle().await;
    }
    Ok(whole(status, content_type, body))
}

/// OpenAI's stream framing: `data: <chunk>` events, `data: [DONE]` at the end.
struct ChatChunks;

impl Framer for ChatChunks {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static("text/event-stream")
    }

    fn element(&self, chunk: &Value, _first: bool) -> String {
        format!("data: {chunk}\n\n")
    }

    fn error(&self, error_json: &str, _first: bool) -> String {
        super::stream::stream_end().event(error_json, false)
    }

    fn end(&self) -> &'static str {
        "data: [DONE]\n\n"
    }

    fn record_usage(&self, ticket: &mut Ticket, chunk: &Value) {
        let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) else { return };
        let count = |k: &str| usage.get(k).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32);
        if let Some(n) = count("prompt_tokens") {
            ticket.set_prompt_tokens(n);
        }
        if let Some(n) = count("completion_tokens") {
            ticket.set_output_tokens(n);
        }
    }
}
