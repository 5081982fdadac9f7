//! An upstream's server-sent events relayed to the client as chunks of the client's surface,
//! in the framing it asked for ([`Framer`]: Gemini's SSE or JSON array, or OpenAI's chat
//! chunks), by whichever [`ChunkSource`] reads the upstream's dialect (chunks passed as they
//! are, or translated). Whatever goes wrong after the first byte ends the stream with an
//! error event: a cut body, an event that does not read, an upstream stream with no chunk at
//! all. The ticket rides along, takes the usage each chunk reports and is settled at the end
//! (or written when the client goes away, with the usage seen so far).

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::StreamExt;
use gemd_engine::upstream::{SseEvents, UpstreamError, UpstreamReply};
use serde_json::Value;

use crate::service::access::Ticket;
use crate::service::error::ApiError;

/// How the client's surface frames a stream, and reads the usage of its chunks.
pub trait Framer: Send + 'static {
    fn content_type(&self) -> HeaderValue;
    /// One chunk; `first`: nothing was sent before.
    fn element(&self, chunk: &Value, first: bool) -> String;
    /// An already-serialised error as the stream's last event.
    fn error(&self, error_json: &str, first: bool) -> String;
    /// What closes a stream that ended well.
    fn end(&self) -> &'static str;
    /// Gives `ticket` the usage `chunk` reports, if any.
    fn record_usage(&self, ticket: &mut Ticket, chunk: &Value);
}

/// Reads one upstream dialect's events as chunks of the client's surface.
pub trait ChunkSource: Send + 'static {
    /// The chunks one event's data gives.
    fn event(&mut self, data: &str) -> Result<Vec<Value>, ApiError>;
    /// The chunks the end of the upstream's body gives.
    fn end(&mut self) -> Result<Vec<Value>, ApiError>;
}

/// A whole answer as the upstream gave it: its status, type and bytes.
pub fn whole(status: axum::http::StatusCode, content_type: Option<String>, body: Bytes) -> Response {
    let ct = content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
        .unwrap_or(HeaderValue::from_static("application/json; charset=UTF-8"));
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

/// Chunks kept as they came (an upstream of the client's own dialect); one that is not JSON
/// is not passed on. OpenAI's closing `[DONE]` is the framer's to write.
pub struct AsItIs {
    backend: String,
}

impl AsItIs {
    pub fn new(backend: &str) -> Self {
        AsItIs { backend: backend.to_string() }
    }
}

impl ChunkSource for AsItIs {
    fn event(&mut self, data: &str) -> Result<Vec<Value>, ApiError> {
        if data.trim() == "[DONE]" {
            return Ok(Vec::new());
        }
        serde_json::from_str(data).map(|v| vec![v]).map_err(|e| cut(&self.backend, format!("a chunk is not JSON: {e}")))
    }

    fn end(&mut self) -> Result<Vec<Value>, ApiError> {
        Ok(Vec::new())
    }
}

pub fn relay(reply: UpstreamReply, framing: impl Framer, ticket: Option<Ticket>, source: impl ChunkSource) -> Response {
    let backend = reply.backend().to_string();
    let content_type = framing.content_type();
    let state = Relay {
        backend,
        chunks: reply.chunks(),
        events: SseEvents::default(),
        framing,
        first: true,
        ticket,
        source,
        done: false,
    };
    let body = futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            let out = match s.chunks.next().await {
                Some(Ok(bytes)) => match s.events.feed(&bytes) {
                    Ok(events) => s.write(events),
                    Err(e) => s.fail(cut(&s.backend, e.to_string())),
                },
                Some(Err(e)) => s.fail(ApiError::UpstreamCut(e)),
                None => s.finish().await,
            };
            if !out.is_empty() || s.done {
                return Some((Ok::<_, std::convert::Infallible>(Bytes::from(out)), s));
            }
        }
    });
    ([(header::CONTENT_TYPE, content_type)], Body::from_stream(body)).into_response()
}

fn cut(backend: &str, reason: String) -> ApiError {
    ApiError::UpstreamCut(UpstreamError::Cut { backend: backend.to_string(), reason })
}

struct Relay<F, S> {
    backend: String,
    chunks: BoxStream<'static, Result<Bytes, UpstreamError>>,
    events: SseEvents,
    framing: F,
    first: bool,
    ticket: Option<Ticket>,
    source: S,
    done: bool,
}

impl<F: Framer, S: ChunkSource> Relay<F, S> {
    /// The framed chunks of these events, or an error event where one does not read.
    fn write(&mut self, events: Vec<String>) -> String {
        let mut out = String::new();
        for data in events {
            match self.source.event(&data) {
                Ok(chunks) => out.push_str(&self.frame(chunks)),
                Err(e) => {
                    out.push_str(&self.fail(e));
                    break;
                }
            }
        }
        out
    }

    fn frame(&mut self, chunks: Vec<Value>) -> String {
        let mut out = String::new();
        for v in chunks {
            if let Some(t) = &mut self.ticket {
                self.framing.record_usage(t, &v);
            }
            let first = std::mem::replace(&mut self.first, false);
            out.push_str(&self.framing.element(&v, first));
        }
        out
    }

    /// The error event that ends the stream.
    fn fail(&mut self, e: ApiError) -> String {
        self.done = true;
        let first = std::mem::replace(&mut self.first, false);
        self.framing.error(&e.stream_event_json(), first)
    }

    async fn finish(&mut self) -> String {
        let tail = self.events.finish().into_iter().collect();
        let mut out = self.write(tail);
        if self.done {
            return out;
        }
        match self.source.end() {
            Ok(chunks) => out.push_str(&self.frame(chunks)),
            Err(e) => return out + &self.fail(e),
        }
        self.done = true;
        if self.first {
            // An upstream stream with no chunk at all is a failure too.
            return self.fail(cut(&self.backend, "the stream was empty".into()));
        }
        out.push_str(self.framing.end());
        if let Some(t) = &mut self.ticket {
            t.settle().await;
        }
        out
    }
}
