//! `x-gemd-backend`, gemd's own header naming the backend (engine or embedder) that served a
//! call, set in this one place for every surface.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

static BACKEND_HEADER: HeaderName = HeaderName::from_static("x-gemd-backend");

/// `resp`, naming `backend` as the one that served it (a name that is not a valid header
/// value is left out).
pub fn tag_backend(mut resp: Response, backend: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(backend) {
        resp.headers_mut().insert(BACKEND_HEADER.clone(), v);
    }
    resp
}
