//! The one place where failures become HTTP: every handler returns `ApiError`, which renders
//! the `google.rpc.Status` envelope (and, for streams, the in-stream error event). The OpenAI
//! layer answers the same statuses in its own form (the envelope inside a JSON array) through
//! [`OpenAiError`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gemd_engine::EngineError;
use gemd_wire::parse::WireError;
use gemd_wire::rpc::{self, Code, Status};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")]
    MissingKey,
    #[error("API key not valid. Please pass a valid API key.")]
    InvalidKey,
    #[error("{0}")]
    Wire(#[from] WireError),
    /// A valid request gemd refuses, with the field it is about.
    #[error("{message}")]
    InvalidArgument { message: String, field: Option<String> },
    #[error("models/{model} is not found for API version {version}, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods.")]
    ModelNotFound { model: String, version: String, method: String },
    #[error("{0}")]
    NotFound(String),
    #[error("Request payload size exceeds the limit: {limit} bytes.")]
    BodyTooLarge { limit: usize },
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// A quota limit of the caller's project is exhausted (429 RESOURCE_EXHAUSTED).
    #[error("{}", crate::quota_error::message(*.surface, .model, *.paid, .violations))]
    QuotaExceeded { surface: crate::quota_error::QuotaSurface, model: String, paid: bool, violations: Vec<gemd_quota::Violation> },
    /// A dependency (key store, shared quota state) cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    /// The admin API's refusal of a missing, wrong or expired admin credential.
    #[error("{0}")]
    Unauthenticated(String),
    /// An admin call that would create something that exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// Too many wrong admin tokens from this client or in all (429, with `Retry-After`).
    #[error("Too many wrong admin tokens. Retry in {retry_after_secs} s.")]
    SignInThrottled { retry_after_secs: u64 },
    /// A refusal at the HTTP level (a wrong method, a body too slow, a rejected extractor):
    /// its own HTTP status, with the nearest canonical name (see [`crate::envelope`]).
    #[error("{message}")]
    Http { code: StatusCode, message: String },
}

impl From<gemd_store::StoreError> for ApiError {
    fn from(e: gemd_store::StoreError) -> Self {
        use gemd_store::StoreError;
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found.")),
            StoreError::Conflict(what) => ApiError::AlreadyExists(what),
            StoreError::Backend(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "key store failure");
                ApiError::Unavailable("The service is currently unavailable.".into())
            }
        }
    }
}

impl ApiError {
    pub fn invalid(message: impl Into<String>, field: impl Into<Option<String>>) -> Self {
        ApiError::InvalidArgument { message: message.into(), field: field.into() }
    }

    /// The `google.rpc.Status` this error is.
    pub fn status(&self) -> Status {
        let message = self.to_string();
        match self {
            ApiError::MissingKey => Status::new(Code::PermissionDenied, message),
            ApiError::InvalidKey => Status::new(Code::InvalidArgument, &message)
                .with_detail(rpc::error_info("API_KEY_INVALID", json!({"service": "generativelanguage.googleapis.com"})))
                .with_detail(rpc::localized_message(&message)),
            ApiError::Wire(e) => {
                let violations = e.violations();
                Status::new(Code::InvalidArgument, message).with_detail(rpc::bad_request(
                    violations.iter().map(|v| (v.field.as_deref(), v.description.as_str())),
                ))
            }
            ApiError::InvalidArgument { field, .. } => {
                Status::new(Code::InvalidArgument, &message).with_detail(rpc::bad_request([(field.as_deref(), message.as_str())]))
            }
            ApiError::ModelNotFound { .. } | ApiError::NotFound(_) => Status::new(Code::NotFound, message),
            ApiError::BodyTooLarge { .. } => Status::new(Code::PayloadTooLarge, message),
            ApiError::QuotaExceeded { surface, model, paid, violations } => crate::quota_error::status(*surface, model, *paid, violations),
            ApiError::Unavailable(_) => Status::new(Code::Unavailable, message),
            ApiError::Unauthenticated(_) => Status::new(Code::Unauthenticated, message),
            ApiError::AlreadyExists(_) => Status::new(Code::AlreadyExists, message),
            ApiError::SignInThrottled { .. } => Status::new(Code::ResourceExhausted, message),
            ApiError::Http { code, .. } => crate::envelope::status(*code, message),
            ApiError::Engine(e) => match e {
                EngineError::Overloaded | EngineError::ShuttingDown => Status::new(Code::Unavailable, message),
                EngineError::PromptTooLong { .. } | EngineError::PromptTooLongAtLeast { .. } | EngineError::InvalidConstraint(_) | EngineError::InvalidPrompt(_) => {
                    Status::new(Code::InvalidArgument, message)
                }
                EngineError::Cancelled => Status::new(Code::Cancelled, message),
                EngineError::Internal(detail) => {
                    tracing::error!(%detail, "engine failure");
                    Status::new(
                        Code::Internal,
                        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                    )
                }
            },
        }
    }

    /// The body of an error event inside an already-started stream (SSE or JSON array).
    pub fn stream_event_json(&self) -> String {
        serde_json::to_string(&self.status().into_body()).expect("Status serialises")
    }
}

/// How an error body is laid out: the native `{"error": …}`, or the OpenAI layer's
/// `[{"error": …}]` (the same status and envelope, wrapped in an array as the real layer does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorForm {
    Native,
    OpenAi,
}

impl ApiError {
    /// The HTTP response for this error, in `form`.
    pub fn render(self, form: ErrorForm) -> Response {
        // Beyond Google: a Retry-After header for clients that read it (the OpenAI SDKs do).
        let retry_after = match &self {
            ApiError::QuotaExceeded { violations, .. } => Some(crate::quota_error::retry_after_secs(violations)),
            ApiError::SignInThrottled { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let body = self.status().into_body();
        let code = StatusCode::from_u16(body.error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = match form {
            ErrorForm::Native => json_response(code, &body),
            ErrorForm::OpenAi => json_response(code, &[body]),
        };
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if code == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(ErrorForm::Native)
    }
}

/// An [`ApiError`] answered in the OpenAI layer's form. Handlers of `/v1beta/openai/` return
/// it; `?` converts anything that converts into an `ApiError`.
#[derive(Debug)]
pub struct OpenAiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for OpenAiError {
    fn from(e: E) -> Self {
        OpenAiError(e.into())
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        self.0.render(ErrorForm::OpenAi)
    }
}

/// A JSON response as the real service writes it: pretty-printed, `charset=UTF-8`.
pub fn json_response<T: serde::Serialize>(code: StatusCode, body: &T) -> Response {
    let mut text = serde_json::to_string_pretty(body).expect("response types serialise");
    text.push('\n');
    (code, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"))], text).into_response()
}
