//! A Gemini upstream's answer passed to the client: a verdict (4xx) as it is and not
//! charged, a whole answer as it is (the ledger takes its usage), a stream re-framed with each
//! chunk's JSON kept.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gemd_engine::upstream::{UpstreamError, UpstreamReply};
use serde_json::Value;

use super::relay::{relay, ChunkSource};
use super::{record_usage, Call};
use crate::service::access::Ticket;
use crate::service::error::ApiError;

pub async fn answer(reply: UpstreamReply, call: Call, ticket: Option<Ticket>) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if !status.is_success() {
        if let Some(mut t) = ticket {
            t.refund();
        }
        let content_type = reply.content_type.clone();
        let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
        return Ok(whole(status, content_type, body));
    }
    if let Call::Stream(framing) = call {
        let backend = reply.backend().to_string();
        return Ok(relay(reply, framing, ticket, AsItIs { backend }));
    }
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

fn whole(status: StatusCode, content_type: Option<String>, body: Bytes) -> Response {
    let ct = content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
        .unwrap_or(HeaderValue::from_static("application/json; charset=UTF-8"));
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

/// Gemini chunks, kept as they came; one that is not JSON is not passed on.
struct AsItIs {
    backend: String,
}

impl ChunkSource for AsItIs {
    fn event(&mut self, data: &str) -> Result<Vec<Value>, ApiError> {
        serde_json::from_str(data).map(|v| vec![v]).map_err(|e| {
            ApiError::UpstreamCut(UpstreamError::Cut {
                backend: self.backend.clone(),
                reason: format!("a chunk is not JSON: {e}"),
            })
        })
    }

    fn end(&mut self) -> Result<Vec<Value>, ApiError> {
        Ok(Vec::new())
    }
}
