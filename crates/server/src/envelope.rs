//! The `google.rpc.Status` envelope on every error gemd answers, including those no handler
//! wrote: axum's method router answers a wrong method 405 with an empty body, its extractors
//! reject in plain text, and the console's missing files are plain text too. The middleware
//! here rewrites any error response that is not already JSON into the envelope, keeping its
//! status and headers (`Allow`, the console's security headers, CORS). It touches error
//! statuses only, and reads their small bodies only: a stream (always a 200) passes through.
//! hyper's own answers to requests it cannot parse never reach a handler; the transport
//! rewrites those (`transport::auto_answers`).

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use gemd_wire::rpc::Status;

use crate::error::{ApiError, ErrorForm};

/// The envelope of an HTTP-level refusal: `code` is the HTTP status, `status` the nearest
/// canonical name.
pub fn status(code: StatusCode, message: String) -> Status {
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

/// The error form of the surface `path` belongs to: the OpenAI layer wraps its errors in an
/// array.
pub fn form_for(path: &str) -> ErrorForm {
    let openai = path.strip_prefix(crate::openai::PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if openai {
        ErrorForm::OpenAi
    } else {
        ErrorForm::Native
    }
}

/// The longest plain-text error body kept as the envelope's message (axum's rejections are
/// one sentence).
const MAX_MESSAGE: usize = 1024;

/// Middleware: every error response leaves as the envelope.
pub async fn every_error_enveloped(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if !needs_envelope(resp.status(), resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let message = message(parts.status, &parts.headers, &method, &path, body).await;
    let enveloped = ApiError::Http { code: parts.status, message }.render(form_for(&path));
    let (new_parts, new_body) = enveloped.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
        if let Some(v) = new_parts.headers.get(&name) {
            parts.headers.insert(name, v.clone());
        }
    }
    Response::from_parts(parts, new_body)
}

/// An error status whose body is not JSON (every envelope gemd writes is).
fn needs_envelope(code: StatusCode, headers: &HeaderMap) -> bool {
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
    (code.is_client_error() || code.is_server_error()) && !json
}

/// The envelope's message: a sentence of ours for a wrong method, else the plain-text body
/// the response had, else the status's reason.
async fn message(code: StatusCode, headers: &HeaderMap, method: &Method, path: &str, body: Body) -> String {
    if code == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
        return format!("Method {method} is not allowed for {path}. Allowed: {allowed}.");
    }
    let text = to_bytes(body, MAX_MESSAGE).await.map(|b| String::from_utf8_lossy(&b).trim().to_string()).unwrap_or_default();
    if text.is_empty() {
        code.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_status_class() {
        assert_eq!(status(StatusCode::METHOD_NOT_ALLOWED, "m".into()).status, "UNIMPLEMENTED");
        assert_eq!(status(StatusCode::REQUEST_TIMEOUT, "m".into()).code, 408);
        assert_eq!(canonical_name(StatusCode::UNSUPPORTED_MEDIA_TYPE), "INVALID_ARGUMENT");
        assert_eq!(canonical_name(StatusCode::BAD_GATEWAY), "INTERNAL");
    }

    #[test]
    fn the_openai_layer_has_its_own_form() {
        assert_eq!(form_for("/v1beta/openai/chat/completions"), ErrorForm::OpenAi);
        assert_eq!(form_for("/v1beta/openai"), ErrorForm::OpenAi);
        assert_eq!(form_for("/v1beta/openaix"), ErrorForm::Native);
        assert_eq!(form_for("/v1beta/models"), ErrorForm::Native);
    }
}
