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

use super::error::{Form, HttpError};

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
    let enveloped = HttpError::Status { code: parts.status, message }.render(Form::for_path(&path));
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
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    (code.is_client_error() || code.is_server_error()) && !json
}

/// The envelope's message: a sentence of ours for a wrong method, else the plain-text body
/// the response had, else the status's reason.
async fn message(code: StatusCode, headers: &HeaderMap, method: &Method, path: &str, body: Body) -> String {
    if code == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
        return format!("Method {method} is not allowed for {path}. Allowed: {allowed}.");
    }
    let text =
        to_bytes(body, MAX_MESSAGE).await.map(|b| String::from_utf8_lossy(&b).trim().to_string()).unwrap_or_default();
    if text.is_empty() {
        code.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    }
}
