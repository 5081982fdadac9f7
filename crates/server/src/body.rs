//! Reading request bodies under the configured size limit, so an oversized body is answered
//! with the JSON error envelope rather than axum's plain-text rejection; a body whose
//! declared `Content-Length` is already over the limit is refused before any of it is read
//! (a client announcing 50 MB would otherwise be waited on until it sent them).

use std::error::Error as StdError;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::LengthLimitError;

use crate::error::ApiError;
use crate::transport::BodyTimedOut;

pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    to_bytes(body, limit).await.map_err(|e| read_error(&e, limit))
}

/// Why reading a body failed: too large, too slow (the transport's body deadline), or cut
/// off. The cause is the innermost error of the chain the body layers wrap around it.
fn read_error(e: &axum::Error, limit: usize) -> ApiError {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<LengthLimitError>() {
            return ApiError::BodyTooLarge { limit };
        }
        if let Some(slow) = c.downcast_ref::<BodyTimedOut>() {
            return ApiError::Http { code: StatusCode::REQUEST_TIMEOUT, message: slow.to_string() };
        }
        cause = c.source();
    }
    ApiError::invalid(format!("Could not read the request body: {e}"), None)
}

/// A declared `Content-Length` over `limit`: the refusal to answer at once.
pub fn declared_too_large(headers: &HeaderMap, limit: usize) -> Option<ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    (declared > limit as u64).then_some(ApiError::BodyTooLarge { limit })
}

/// Middleware: refuses a request whose declared body is over `limit` before its handler
/// runs. The connection is closed after the answer: the body it announced is never read.
pub async fn refuse_declared_oversize(State(limit): State<usize>, req: Request, next: Next) -> Response {
    match declared_too_large(req.headers(), limit) {
        Some(refusal) => closing(refusal.render(crate::envelope::form_for(req.uri().path()))),
        None => next.run(req).await,
    }
}

/// `resp` with `Connection: close`, for answers sent before the request body was read.
pub fn closing(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_overlong_body_is_too_large_and_a_declared_one_is_refused_unread() {
        let e = read_limited(Body::from(vec![b'x'; 11]), 10).await.unwrap_err();
        assert!(matches!(e, ApiError::BodyTooLarge { limit: 10 }), "{e:?}");
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        assert!(declared_too_large(&h, 10).is_some());
        assert!(declared_too_large(&h, 11).is_none());
    }
}
