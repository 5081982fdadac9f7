//! A Gemini upstream's answer passed to the client: a verdict (4xx) as it is and not
//! charged, a whole answer as it is (the ledger takes its usage), a stream re-framed with each
//! chunk's JSON kept.

use axum::http::StatusCode;
use axum::response::Response;
use gemd_engine::upstream::UpstreamReply;
use serde_json::Value;

use super::{record_usage, Call};
use crate::http::relay::{relay, whole, AsItIs};
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
        let source = AsItIs::new(reply.backend());
        return Ok(relay(reply, framing, ticket, source));
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
