//! What can go wrong between gemd and an OpenAI-compatible upstream once it has answered:
//! a refusal of the request in OpenAI's error shape, put into Google's envelope with the
//! upstream's words; an answer that is not a chat completion; or a request the backend was
//! configured not to take.

use gemd_wire::rpc::Code;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TranslateError {
    /// The upstream refused the request (a 4xx): its status and message.
    #[error("Backend {backend} refused the request ({status}): {message}")]
    Refused { backend: String, status: u16, message: String },
    /// A 2xx whose body is not the answer it should be (`expected`: "a chat completion",
    /// "an embedding list").
    #[error("Backend {backend} answered with something that is not {expected}: {reason}")]
    Malformed { backend: String, expected: &'static str, reason: String },
    /// A request the backend does not take (`capabilities` in its configuration).
    #[error("models/{model} is served by backend {backend}, which does not take {what}.")]
    CapabilityMissing { what: &'static str, model: String, backend: String, field: &'static str },
}

impl TranslateError {
    pub fn code(&self) -> Code {
        match self {
            TranslateError::Refused { status, .. } => match status {
                404 => Code::NotFound,
                409 => Code::FailedPrecondition,
                401 | 403 => Code::PermissionDenied,
                _ => Code::InvalidArgument,
            },
            TranslateError::Malformed { .. } => Code::Unavailable,
            TranslateError::CapabilityMissing { .. } => Code::InvalidArgument,
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            TranslateError::CapabilityMissing { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// The message of an OpenAI-shaped error body (`{"error": {"message"}}`, vLLM's
/// `{"message"}`, or a plain string), else the body's first characters.
pub fn refusal_message(body: &[u8]) -> String {
    let v: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string(),
    };
    let error = v.get("error").unwrap_or(&v);
    error
        .get("message")
        .and_then(|m| m.as_str())
        .or_else(|| error.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string().chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_each_shape() {
        assert_eq!(refusal_message(br#"{"error":{"message":"bad","type":"invalid_request_error"}}"#), "bad");
        assert_eq!(refusal_message(br#"{"object":"error","message":"too long","code":400}"#), "too long");
        assert_eq!(refusal_message(br#"{"error":"model not found"}"#), "model not found");
        assert_eq!(refusal_message(b"Bad Request"), "Bad Request");
        let refused = |status| TranslateError::Refused { backend: "b".into(), status, message: "m".into() }.code();
        assert_eq!(
            (refused(400), refused(404), refused(422)),
            (Code::InvalidArgument, Code::NotFound, Code::InvalidArgument)
        );
    }
}
