//! An OpenAI-compatible upstream behind a native call: the Gemini request is written as a
//! chat-completions body with the dialect table ([`crate::service::translate`]), read with the
//! native surface's own readers (the same 400s as for a local model), and the answer is read
//! back as Gemini's: whole, or chunk by chunk through the relay. The upstream's refusals (4xx)
//! are put into Google's envelope with the upstream's words and are not charged.
//!
//! countTokens has no OpenAI endpoint: it is answered with gemd's estimate of the prompt
//! ([`crate::service::estimate`]), the number the request's admission also used.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use gemd_engine::upstream::{OpenAiUpstream, UpstreamReply};
use gemd_wire::gemini::{CountTokensResponse, GenerateContentRequest, GenerateContentResponse};
use serde_json::Value;

use super::{record_usage, Call};
use crate::gemini::{convert, tools};
use crate::http::json::json_response;
use crate::http::relay::{relay, ChunkSource};
use crate::service::access::Ticket;
use crate::service::error::ApiError;
use crate::service::estimate;
use crate::service::translate::answer::{completion, ChunkReader, Reading};
use crate::service::translate::error::{refusal_message, TranslateError};
use crate::service::translate::messages::Target;
use crate::service::translate::request::chat_body;

/// The chat-completions body of `req` for this upstream, and what its answer is read for.
pub fn request(
    upstream: &OpenAiUpstream,
    model: &str,
    model_version: &str,
    req: &GenerateContentRequest,
    stream: bool,
) -> Result<(Bytes, Reading), ApiError> {
    let transport = upstream.transport();
    let plan = tools::plan(req)?;
    let options = convert::options(req.generation_config.as_ref());
    let target = Target { model, backend: transport.name(), capabilities: transport.capabilities() };
    let body = chat_body(req, &plan, &options, &target, transport.upstream_model(model), stream)?;
    let prompt_estimate = estimate::prompt_tokens(&serde_json::to_value(req).expect("requests serialise"));
    let reading = Reading {
        plan,
        model_version: model_version.to_string(),
        backend: transport.name().to_string(),
        prompt_estimate: prompt_estimate.min(u32::MAX as u64) as u32,
    };
    Ok((Bytes::from(body.to_string()), reading))
}

/// countTokens, on gemd's estimate.
pub fn count_tokens(body: &Value) -> Response {
    let total = estimate::prompt_tokens(body).min(u32::MAX as u64) as u32;
    json_response(StatusCode::OK, &CountTokensResponse { total_tokens: total, prompt_tokens_details: Vec::new() })
}

pub async fn answer(
    reply: UpstreamReply,
    reading: Reading,
    call: Call,
    ticket: Option<Ticket>,
) -> Result<Response, ApiError> {
    if !(200..300).contains(&reply.status) {
        if let Some(mut t) = ticket {
            t.refund();
        }
        let (backend, status) = (reply.backend().to_string(), reply.status);
        let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
        return Err(TranslateError::Refused { backend, status, message: refusal_message(&body) }.into());
    }
    if let Call::Stream(framing) = call {
        return Ok(relay(reply, framing, ticket, Translated(ChunkReader::new(reading))));
    }
    let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
    let response = completion(&body, &reading)?;
    if let Some(mut t) = ticket {
        record_usage(&mut t, &serde_json::to_value(&response).expect("responses serialise"));
        t.settle().await;
    }
    Ok(json_response(StatusCode::OK, &response))
}

/// Chat-completion chunks read as Gemini ones.
struct Translated(ChunkReader);

impl ChunkSource for Translated {
    fn event(&mut self, data: &str) -> Result<Vec<Value>, ApiError> {
        Ok(values(self.0.event(data)?))
    }

    fn end(&mut self) -> Result<Vec<Value>, ApiError> {
        Ok(values(self.0.end()?))
    }
}

fn values(chunks: Vec<GenerateContentResponse>) -> Vec<Value> {
    chunks.iter().map(|r| serde_json::to_value(r).expect("responses serialise")).collect()
}
