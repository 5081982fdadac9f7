//! The deadline of every call to the public API (the native surface under `/v1beta` and `/v1`,
//! the OpenAI layer): the server's own limit ([`ServerLimits::deadline`]), shortened by the
//! client's `X-Server-Timeout` (what google-genai and @google/genai send, whole seconds
//! rounded up, when `http_options.timeout` is set) and never lengthened by it. It is one
//! middleware, so no handler times itself, and it cancels by dropping:
//!
//! - Until the handler has answered (a whole answer, or a stream's first bytes), its future
//!   is raced against the deadline. Past it the future is dropped and the client gets 504
//!   DEADLINE_EXCEEDED in its surface's error form. Dropping is the cancellation: an upstream
//!   request in flight goes with it (its connection closes, so the upstream stops), and so do
//!   the retries and backoff sleeps of the try-every-backend loop; a local generation's event
//!   stream is dropped (the engine frees its sequence) and its quota ticket settles as for a
//!   client that left (the ledger gets the prompt and the output so far: the work was done).
//! - A stream that has started is raced chunk by chunk. Past the deadline its body is dropped
//!   (the same cancellation) and the stream ends with a DEADLINE_EXCEEDED error event in its
//!   framing, as its surface attached it ([`StreamEnd`]); a stream without one is broken off.
//!
//! A header that is not a positive number of seconds is refused 400 INVALID_ARGUMENT before
//! the handler runs (Google's answer to one is UNCONFIRMED). Several values (the header
//! repeated, or a comma-separated list, which is what `fetch` makes of an SDK's header and a
//! caller's own) count as the shortest.
//!
//! [`ServerLimits::deadline`]: super::state::ServerLimits::deadline

use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use futures::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use super::error::{Form, HttpError};
use super::stream::StreamEnd;
use crate::service::error::ApiError;

/// The header of Google's clients: how long the server may take, in seconds.
pub const SERVER_TIMEOUT: &str = "x-server-timeout";

/// Middleware: the call ends by its deadline, `limit` or the client's if shorter.
pub async fn enforce(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let form = Form::for_path(req.uri().path());
    let budget = match requested(req.headers()) {
        Ok(asked) => asked.map_or(limit, |a| a.min(limit)),
        Err(refusal) => return HttpError::from(refusal).render(form),
    };
    // A limit too far away to be a point in time is no limit.
    let Some(deadline) = Instant::now().checked_add(budget) else { return next.run(req).await };
    let path = req.uri().path().to_string();
    match tokio::time::timeout_at(deadline, next.run(req)).await {
        Ok(resp) => bounded(resp, deadline),
        Err(_) => {
            tracing::info!(%path, seconds = budget.as_secs_f64(), "deadline exceeded before the answer: cancelled");
            HttpError::from(ApiError::DeadlineExceeded).render(form)
        }
    }
}

/// The client's deadline, if it sets one: the shortest of the header's values. Empty values
/// are none.
fn requested(headers: &HeaderMap) -> Result<Option<Duration>, ApiError> {
    let mut shortest: Option<Duration> = None;
    for value in headers.get_all(SERVER_TIMEOUT) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let asked =
                seconds(item).ok_or_else(|| ApiError::InvalidServerTimeout { value: text.trim().to_string() })?;
            shortest = Some(shortest.map_or(asked, |s| s.min(asked)));
        }
    }
    Ok(shortest)
}

/// `"30"`, `"2.5"`: a positive, finite number of seconds. One too large for a `Duration` is
/// the longest one (the server's limit caps it anyway).
fn seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// `resp` with its body raced against `deadline`, unless the body is whole already (a JSON
/// answer: none of it is left to wait for).
fn bounded(resp: Response, deadline: Instant) -> Response {
    if resp.body().size_hint().exact().is_some() {
        return resp;
    }
    let end = resp.extensions().get::<StreamEnd>().cloned();
    let (parts, body) = resp.into_parts();
    Response::from_parts(parts, Body::from_stream(timed(body, deadline, end)))
}

/// A streamed body racing its deadline.
struct Timed {
    /// `None` once the deadline has passed: dropped then, so whatever produces the stream (a
    /// generation, an upstream's answer) stops at once, not when the client reads the end.
    body: Option<BodyDataStream>,
    expiry: Pin<Box<Sleep>>,
    end: Option<StreamEnd>,
    /// Whether any bytes went out (a JSON array's error element needs to know).
    sent: bool,
}

enum Race {
    Chunk(Option<Result<Bytes, axum::Error>>),
    Expired,
}

fn timed(body: Body, deadline: Instant, end: Option<StreamEnd>) -> impl Stream<Item = Result<Bytes, axum::Error>> {
    let expiry = Box::pin(tokio::time::sleep_until(deadline));
    let state = Timed { body: Some(body.into_data_stream()), expiry, end, sent: false };
    futures::stream::unfold(state, |mut s| async move {
        let body = s.body.as_mut()?;
        // The deadline first: a generation that always has a chunk ready for a slow reader
        // must not outrun it.
        let race = tokio::select! {
            biased;
            () = &mut s.expiry => Race::Expired,
            chunk = body.next() => Race::Chunk(chunk),
        };
        match race {
            Race::Chunk(chunk) => {
                let chunk = chunk?;
                s.sent |= chunk.as_ref().is_ok_and(|b| !b.is_empty());
                Some((chunk, s))
            }
            Race::Expired => {
                s.body = None;
                tracing::info!("deadline exceeded mid-stream: cancelled");
                let last = match &s.end {
                    Some(end) => Ok(Bytes::from(end.event(&ApiError::DeadlineExceeded.stream_event_json(), !s.sent))),
                    // No framing known: break the stream off rather than end it as if whole.
                    None => Err(axum::Error::new(ApiError::DeadlineExceeded)),
                };
                Some((last, s))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn asked(values: &[&str]) -> Result<Option<Duration>, ApiError> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(SERVER_TIMEOUT, HeaderValue::from_str(v).unwrap());
        }
        requested(&h)
    }

    #[test]
    fn the_header_is_positive_seconds_and_the_shortest_value_counts() {
        assert_eq!(asked(&[]).unwrap(), None);
        assert_eq!(asked(&["30"]).unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(asked(&[" 2.5 "]).unwrap(), Some(Duration::from_millis(2500)));
        assert_eq!(asked(&["3.0"]).unwrap(), Some(Duration::from_secs(3)), "a float of whole seconds");
        assert_eq!(asked(&["9", "4"]).unwrap(), Some(Duration::from_secs(4)));
        assert_eq!(asked(&["9, 4"]).unwrap(), Some(Duration::from_secs(4)), "fetch joins repeated headers");
        assert_eq!(asked(&[""]).unwrap(), None, "an empty value is none");
        assert_eq!(asked(&["1e30"]).unwrap(), Some(Duration::MAX), "capped by the server's limit later");
        for bad in ["soon", "-1", "0", "inf", "NaN", "5s", "1, x"] {
            let e = asked(&[bad]).unwrap_err();
            assert!(matches!(&e, ApiError::InvalidServerTimeout { value } if value == bad), "{bad}: {e:?}");
        }
    }

    #[tokio::test]
    async fn a_stream_past_its_deadline_ends_with_its_framings_error_event() {
        let chunks = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from("[1"))])
            .chain(futures::stream::pending());
        let end = StreamEnd::new(|json, first| if first { format!("[{json}]") } else { format!(",{json}]") });
        let deadline = Instant::now() + Duration::from_millis(50);
        let out: Vec<_> = timed(Body::from_stream(chunks), deadline, Some(end)).collect().await;
        let text: String = out.into_iter().map(|c| String::from_utf8(c.unwrap().to_vec()).unwrap()).collect();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(v[1]["error"]["status"], "DEADLINE_EXCEEDED", "{text}");

        // Without a framing the stream is broken off, not ended as if whole.
        let deadline = Instant::now() + Duration::from_millis(10);
        let pending = futures::stream::pending::<Result<Bytes, std::convert::Infallible>>();
        let out: Vec<_> = timed(Body::from_stream(pending), deadline, None).collect().await;
        assert!(matches!(out.as_slice(), [Err(_)]), "{out:?}");
    }
}
