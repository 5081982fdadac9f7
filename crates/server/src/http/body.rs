//! Request bodies, one machinery for every route: read under a size limit, so an oversized body
//! is answered with the JSON error envelope rather than axum's plain-text rejection; a body
//! whose declared `Content-Length` is already over the limit is refused before any of it is
//! read (a client announcing 50 MB would otherwise be waited on until it sent them). The
//! public API's limit is the configured `max_body_bytes` ([`PublicLimit`]); the admin API's
//! is its own 64 KiB ([`AdminLimit`]): its bodies are a few hundred bytes, and the sign-in one
//! is read before any credential is checked.

use std::error::Error as StdError;
use std::marker::PhantomData;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::LengthLimitError;
use serde::de::DeserializeOwned;

use super::error::{ErrorForm, ErrorResponse, Form, Gemini, HttpError};
use super::state::AppState;
use super::transport::BodyTimedOut;
use crate::service::error::ApiError;

/// The largest admin body accepted (the playground's generate calls take the public limit).
pub const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// Where a route's body limit comes from.
pub trait BodyLimit: Send + Sync + 'static {
    fn bytes(state: &AppState) -> usize;
}

/// The public API's configured `max_body_bytes`.
pub struct PublicLimit;

/// The admin API's [`ADMIN_BODY_LIMIT`].
pub struct AdminLimit;

impl BodyLimit for PublicLimit {
    fn bytes(state: &AppState) -> usize {
        state.limits.max_body_bytes
    }
}

impl BodyLimit for AdminLimit {
    fn bytes(_: &AppState) -> usize {
        ADMIN_BODY_LIMIT
    }
}

/// A request's body with its route's limit, not read yet: a handler reads it once it has
/// checked what needs no body (the key, the model), and a declared size over the limit is
/// refused on extraction. Refusals are in `F`'s form.
pub struct LimitedBody<L: BodyLimit = PublicLimit, F: ErrorForm = Gemini> {
    body: Body,
    limit: usize,
    kind: PhantomData<(L, F)>,
}

impl<L: BodyLimit, F: ErrorForm> FromRequest<AppState> for LimitedBody<L, F> {
    type Rejection = ErrorResponse<F>;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = L::bytes(state);
        if let Some(refusal) = declared_too_large(req.headers(), limit) {
            return Err(refusal.into());
        }
        Ok(LimitedBody { body: req.into_body(), limit, kind: PhantomData })
    }
}

impl<L: BodyLimit, F: ErrorForm> LimitedBody<L, F> {
    /// The whole body, or the refusal of one over the limit, too slow, or cut off.
    pub async fn bytes(self) -> Result<Bytes, HttpError> {
        read_limited(self.body, self.limit).await
    }

    /// The whole body, passed on unread (the playground hands it to the native surface).
    pub fn into_body(self) -> Body {
        self.body
    }
}

/// An admin call's JSON body, read under [`AdminLimit`] and parsed into `T` (an empty body is
/// `{}`), or refused with a 400 naming the problem.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let body = LimitedBody::<AdminLimit>::from_request(req, state).await?;
        Ok(JsonBody(parse_json(&body.bytes().await?)?))
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes).map_err(ApiError::InvalidJson)
}

pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, HttpError> {
    to_bytes(body, limit).await.map_err(|e| read_error(&e, limit))
}

/// Why reading a body failed: too large, too slow (the transport's body deadline), or cut
/// off. The cause is the innermost error of the chain the body layers wrap around it.
fn read_error(e: &axum::Error, limit: usize) -> HttpError {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit }.into();
        }
        if let Some(slow) = c.downcast_ref::<BodyTimedOut>() {
            return slow.clone().into();
        }
        cause = c.source();
    }
    ApiError::BodyUnreadable { cause: e.to_string() }.into()
}

/// A declared `Content-Length` over `limit`: the refusal to answer at once.
pub fn declared_too_large(headers: &HeaderMap, limit: usize) -> Option<ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    (declared > limit as u64).then_some(ApiError::PayloadTooLarge { limit })
}

/// Where file uploads are sent: their bodies are streamed into storage under the Files API's
/// own limits (a file may be 2 GB), so the request body limit does not apply to them.
pub const UPLOAD_PREFIX: &str = "/upload/";

/// Middleware: refuses a request whose declared body is over `limit` before its handler
/// runs. The connection is closed after the answer: the body it announced is never read.
pub async fn refuse_declared_oversize(State(limit): State<usize>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(UPLOAD_PREFIX) {
        return next.run(req).await;
    }
    match declared_too_large(req.headers(), limit) {
        Some(refusal) => closing(HttpError::from(refusal).render(Form::for_path(req.uri().path()))),
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
        assert!(matches!(e, HttpError::Api(ApiError::PayloadTooLarge { limit: 10 })), "{e:?}");
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        assert!(declared_too_large(&h, 10).is_some());
        assert!(declared_too_large(&h, 11).is_none());
    }

    #[test]
    fn an_empty_admin_body_is_an_empty_object() {
        let v: serde_json::Value = parse_json(b"  ").unwrap();
        assert_eq!(v, serde_json::json!({}));
        let e = parse_json::<serde_json::Value>(b"{").unwrap_err();
        assert!(e.to_string().starts_with("Invalid JSON payload received. "), "{e}");
    }
}
