//! An upstream's server-sent events relayed to the client as Gemini chunks, in the framing
//! it asked for (SSE or a JSON array), by whichever [`ChunkSource`] reads the upstream's
//! dialect: a Gemini upstream's chunks pass as they are, an OpenAI one's are translated.
//! Whatever goes wrong after the first byte ends the stream with an error event: a cut body,
//! an event that does not read, an upstream stream with no chunk at all. The ticket rides
//! along, takes the usage each chunk reports and is settled at the end (or written when the
//! client goes away, with the usage seen so far).

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::StreamExt;
use gemd_engine::upstream::{SseEvents, UpstreamError, UpstreamReply};
use serde_json::Value;

use super::record_usage;
use crate::gemini::stream::Framing;
use crate::service::access::Ticket;
use crate::service::error::ApiError;

/// Reads one upstream dialect's events as Gemini chunks.
pub trait ChunkSource: Send + 'static {
    /// The chunks one event's data gives.
    fn event(&mut self, data: &str) -> Result<Vec<Value>, ApiError>;
    /// The chunks the end of the upstream's body gives.
    fn end(&mut self) -> Result<Vec<Value>, ApiError>;
}

pub fn relay(reply: UpstreamReply, framing: Framing, ticket: Option<Ticket>, source: impl ChunkSource) -> Response {
    let backend = reply.backend().to_string();
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
    ([(header::CONTENT_TYPE, framing.content_type())], Body::from_stream(body)).into_response()
}

fn cut(backend: &str, reason: String) -> ApiError {
    ApiError::UpstreamCut(UpstreamError::Cut { backend: backend.to_string(), reason })
}

struct Relay<S> {
    backend: String,
    chunks: BoxStream<'static, Result<Bytes, UpstreamError>>,
    events: SseEvents,
    framing: Framing,
    first: bool,
    ticket: Option<Ticket>,
    source: S,
    done: bool,
}

impl<S: ChunkSource> Relay<S> {
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
                record_usage(t, &v);
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
