//! JSON answers as the real service writes them: pretty-printed, `charset=UTF-8`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub fn json_response<T: serde::Serialize>(code: StatusCode, body: &T) -> Response {
    let mut text = serde_json::to_string_pretty(body).expect("response types serialise");
    text.push('\n');
    (code, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"))], text).into_response()
}
