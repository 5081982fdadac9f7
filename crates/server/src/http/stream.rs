//! Streamed answers: a started generation sent as a response body (the service's frames,
//! [`Frames`], each one chunk of the body, under the surface's content type), and how a
//! streamed answer of any kind ends with an error event in its own framing when something
//! outside it (the deadline, `super::deadline`) has to stop it after it started.

use std::convert::Infallible;
use std::sync::Arc;

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

/// How a streamed answer writes an error as its last event: given the error's JSON (a
/// `{"error": …}` envelope) and whether nothing of the stream was sent yet, the bytes that
/// end the stream in its framing (an SSE event; a JSON array's last element and `]`). A
/// surface attaches it to its streamed responses ([`with_stream_end`]); the stream's writer
/// itself never sees errors raised outside it, so this is how they can still be framed.
#[derive(Clone)]
pub struct StreamEnd(Arc<WriteEnd>);

/// What a [`StreamEnd`] calls: the error's JSON and whether nothing was sent, to the bytes.
type WriteEnd = dyn Fn(&str, bool) -> String + Send + Sync;

impl StreamEnd {
    pub fn new(write: impl Fn(&str, bool) -> String + Send + Sync + 'static) -> Self {
        StreamEnd(Arc::new(write))
    }

    /// The bytes that end the stream with `error_json`; `first`: nothing was sent before.
    pub fn event(&self, error_json: &str, first: bool) -> String {
        (self.0)(error_json, first)
    }
}

/// `resp`, a streamed answer, marked with how it ends with an error event.
pub fn with_stream_end(mut resp: Response, end: StreamEnd) -> Response {
    resp.extensions_mut().insert(end);
    resp
}
