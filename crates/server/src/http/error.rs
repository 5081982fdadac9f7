//! The one place where failures become HTTP responses. A handler fails with an [`HttpError`]:
//! a service refusal ([`ApiError`], whose `google.rpc.Status` it answers) or one at the HTTP
//! level (a body too slow, a CORS preflight refused, a status someone else wrote). Each surface
//! lays the envelope out in its own [`Form`]: the native `{"error": …}`, or the OpenAI layer's
//! `[{"error": …}]` (the same status and envelope, wrapped in an array as the real layer does).
//! Handlers and extractors name the form as a type, `ErrorResponse<F: ErrorForm>`, so one
//! extractor serves every surface.

use std::marker::PhantomData;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gemd_wire::rpc::Status;

use super::cors::CorsRefusal;
use super::json::json_response;
use super::transport::BodyTimedOut;
use crate::service::error::ApiError;

/// Where the OpenAI-compatible layer is mounted: its paths answer errors in its form.
pub const OPENAI_PREFIX: &str = "/v1beta/openai";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The request body did not arrive within the transport's body deadline (408).
    #[error(transparent)]
    BodyTimedOut(#[from] BodyTimedOut),
    /// A CORS preflight gemd does not allow (403).
    #[error(transparent)]
    Cors(#[from] CorsRefusal),
    /// An error response someone else wrote (axum's method router and extractors, the
    /// console's missing files, hyper's own answers): its status, with the nearest canonical
    /// name, and its text.
    #[error("{message}")]
    Status { code: StatusCode, message: String },
}

impl HttpError {
    /// The `google.rpc.Status` this error is.
    pub fn status(&self) -> Status {
        match self {
            HttpError::Api(e) => e.status(),
            HttpError::BodyTimedOut(e) => http_status(StatusCode::REQUEST_TIMEOUT, e.to_string()),
            HttpError::Cors(e) => http_status(StatusCode::FORBIDDEN, e.to_string()),
            HttpError::Status { code, message } => http_status(*code, message.clone()),
        }
    }

    /// The HTTP response for this error, in `form`.
    pub fn render(self, form: Form) -> Response {
        // Beyond Google: a Retry-After header for clients that read it (the OpenAI SDKs do).
        let retry_after = match &self {
            HttpError::Api(e) => e.retry_after_secs(),
            _ => None,
        };
        let body = self.status().into_body();
        let code = StatusCode::from_u16(body.error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = match form {
            Form::Gemini => json_response(code, &body),
            Form::OpenAi => json_response(code, &[body]),
        };
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if code == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// The envelope of an HTTP-level refusal: `code` is the HTTP status, `status` the nearest
/// canonical name.
fn http_status(code: StatusCode, message: String) -> Status {
    Status { code: code.as_u16(), message, status: canonical_name(code).to_string(), details: Vec::new() }
}

/// The canonical code name for an HTTP status without one of its own. 405 follows
/// grpc-gateway (a method the path does not implement); 413 and the other malformed-request
/// statuses follow Google's front end, which answers them `INVALID_ARGUMENT`.
fn canonical_name(code: StatusCode) -> &'static str {
    match code.as_u16() {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 | 501 => "UNIMPLEMENTED",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        503 => "UNAVAILABLE",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

/// How an error body is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `{"error": …}`.
    Gemini,
    /// `[{"error": …}]`.
    OpenAi,
}

impl Form {
    /// The form of the surface `path` belongs to, for answers written before any handler.
    pub fn for_path(path: &str) -> Form {
        let openai = path.strip_prefix(OPENAI_PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if openai {
            Form::OpenAi
        } else {
            Form::Gemini
        }
    }
}

/// A surface's error form as a type, for extractors and handler results.
pub trait ErrorForm: Send + Sync + 'static {
    const FORM: Form;
    /// Whether this surface's clients may send their key as `Authorization: Bearer` (the
    /// OpenAI SDKs do; Google's native clients never).
    const BEARER_KEYS: bool;
}

/// The native surface, the admin API and the console.
#[derive(Debug, Clone, Copy)]
pub struct Gemini;

/// The OpenAI-compatible layer under [`OPENAI_PREFIX`].
#[derive(Debug, Clone, Copy)]
pub struct OpenAi;

impl ErrorForm for Gemini {
    const FORM: Form = Form::Gemini;
    const BEARER_KEYS: bool = false;
}

impl ErrorForm for OpenAi {
    const FORM: Form = Form::OpenAi;
    const BEARER_KEYS: bool = true;
}

/// An [`HttpError`] answered in `F`'s form. Handlers return it; `?` converts anything that
/// converts into an [`ApiError`], and any `HttpError`.
pub struct ErrorResponse<F: ErrorForm = Gemini> {
    error: HttpError,
    form: PhantomData<F>,
}

impl<F: ErrorForm> ErrorResponse<F> {
    pub fn error(&self) -> &HttpError {
        &self.error
    }
}

impl<F: ErrorForm, E: Into<ApiError>> From<E> for ErrorResponse<F> {
    fn from(e: E) -> Self {
        ErrorResponse { error: HttpError::Api(e.into()), form: PhantomData }
    }
}

impl<F: ErrorForm> From<HttpError> for ErrorResponse<F> {
    fn from(error: HttpError) -> Self {
        ErrorResponse { error, form: PhantomData }
    }
}

impl<F: ErrorForm> std::fmt::Debug for ErrorResponse<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ErrorResponse").field(&F::FORM).field(&self.error).finish()
    }
}

impl<F: ErrorForm> IntoResponse for ErrorResponse<F> {
    fn into_response(self) -> Response {
        self.error.render(F::FORM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_status_class() {
        assert_eq!(http_status(StatusCode::METHOD_NOT_ALLOWED, "m".into()).status, "UNIMPLEMENTED");
        assert_eq!(http_status(StatusCode::REQUEST_TIMEOUT, "m".into()).code, 408);
        assert_eq!(canonical_name(StatusCode::UNSUPPORTED_MEDIA_TYPE), "INVALID_ARGUMENT");
        assert_eq!(canonical_name(StatusCode::BAD_GATEWAY), "INTERNAL");
    }

    #[test]
    fn the_openai_layer_has_its_own_form() {
        assert_eq!(Form::for_path("/v1beta/openai/chat/completions"), Form::OpenAi);
        assert_eq!(Form::for_path("/v1beta/openai"), Form::OpenAi);
        assert_eq!(Form::for_path("/v1beta/openaix"), Form::Gemini);
        assert_eq!(Form::for_path("/v1beta/models"), Form::Gemini);
    }
}
