//! A started generation sent as a streamed response body: the service's frames
//! ([`Frames`]), each one chunk of the body, under the surface's content type.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::stream;

use crate::service::generation::{Frames, StreamWriter};

/// Answers with `frames` as the body, until the stream is complete.
pub fn stream_response<W: StreamWriter>(frames: Frames<W>, content_type: HeaderValue) -> Response {
    let body = stream::unfold(frames, |mut frames| async move {
        let chunk = frames.next_frame().await?;
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), frames))
    });
    ([(header::CONTENT_TYPE, content_type)], Body::from_stream(body)).into_response()
}
