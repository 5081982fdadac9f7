//! The `google.rpc.Status` error envelope and the detail messages gemd emits.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The `google.rpc.Code`s the Gemini API answers with, with their HTTP mapping. Only canonical
/// codes: there is none for an oversized payload (Google answers one 400 INVALID_ARGUMENT;
/// where gemd answers another HTTP status for a code, the error says so itself, see
/// [`Status::with_http`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument,
    FailedPrecondition,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    ResourceExhausted,
    Cancelled,
    Internal,
    Unavailable,
    DeadlineExceeded,
    Unimplemented,
}

impl Code {
    /// The HTTP status the real service answers with.
    pub fn http(self) -> u16 {
        match self {
            Code::InvalidArgument | Code::FailedPrecondition => 400,
            Code::Unauthenticated => 401,
            Code::PermissionDenied => 403,
            Code::NotFound => 404,
            Code::AlreadyExists => 409,
            Code::ResourceExhausted => 429,
            Code::Cancelled => 499,
            Code::Internal => 500,
            Code::Unimplemented => 501,
            Code::Unavailable => 503,
            Code::DeadlineExceeded => 504,
        }
    }

    /// The canonical name in `error.status`.
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::Cancelled => "CANCELLED",
            Code::Internal => "INTERNAL",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Unavailable => "UNAVAILABLE",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        }
    }
}

/// `google.rpc.Status` as the JSON error body carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub code: u16,
    pub message: String,
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub details: Vec<Value>,
}

/// The body: `{"error": Status}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    pub error: Status,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Status { code: code.http(), message: message.into(), status: code.name().to_string(), details: Vec::new() }
    }

    /// This status answered with HTTP status `http` instead of its code's usual one (the
    /// `status` name stays the code's).
    pub fn with_http(mut self, http: u16) -> Self {
        self.code = http;
        self
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    pub fn into_body(self) -> ErrorBody {
        ErrorBody { error: self }
    }
}

const TYPE: &str = "type.googleapis.com/google.rpc.";

/// `google.rpc.ErrorInfo`.
pub fn error_info(reason: &str, metadata: Value) -> Value {
    json!({"@type": format!("{TYPE}ErrorInfo"), "reason": reason, "domain": "googleapis.com", "metadata": metadata})
}

/// `google.rpc.LocalizedMessage` in en-US.
pub fn localized_message(message: &str) -> Value {
    json!({"@type": format!("{TYPE}LocalizedMessage"), "locale": "en-US", "message": message})
}

/// `google.rpc.BadRequest` with one violation per `(field, description)`.
pub fn bad_request<'a>(violations: impl IntoIterator<Item = (Option<&'a str>, &'a str)>) -> Value {
    let list: Vec<Value> = violations
        .into_iter()
        .map(|(field, description)| match field {
            Some(f) => json!({"field": f, "description": description}),
            None => json!({"description": description}),
        })
        .collect();
    json!({"@type": format!("{TYPE}BadRequest"), "fieldViolations": list})
}

/// `google.rpc.RetryInfo` with a whole-seconds delay.
pub fn retry_info(seconds: u64) -> Value {
    json!({"@type": format!("{TYPE}RetryInfo"), "retryDelay": format!("{seconds}s")})
}

/// `google.rpc.Help` with one link.
pub fn help(description: &str, url: &str) -> Value {
    json!({"@type": format!("{TYPE}Help"), "links": [{"description": description, "url": url}]})
}
