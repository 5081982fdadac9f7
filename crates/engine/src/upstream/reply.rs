//! An upstream's answer once it is the upstream's verdict: its status, content type and a
//! body that is read whole or streamed. A transport error after the first byte is a cut
//! ([`UpstreamError::Cut`]), which the caller turns into an error event of its own stream.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;

use super::UpstreamError;

/// The largest whole (unary) answer read from an upstream.
pub const MAX_WHOLE_BODY_BYTES: usize = 64 << 20;

pub struct UpstreamReply {
    pub status: u16,
    pub content_type: Option<String>,
    body: ReplyBody,
    backend: String,
}

enum ReplyBody {
    /// Not read yet.
    Unread(reqwest::Response),
    /// Read already, to look at it (a 400 that might have been about the key).
    Read(Bytes),
    /// Pieces from elsewhere: a live body being recorded as it passes, or a replayed one.
    Pieces(BoxStream<'static, Result<Bytes, UpstreamError>>),
}

impl UpstreamReply {
    /// An answer whose body is still on the wire.
    pub(super) fn unread(status: u16, content_type: Option<String>, resp: reqwest::Response, backend: String) -> Self {
        UpstreamReply { status, content_type, body: ReplyBody::Unread(resp), backend }
    }

    /// An answer whose body was read already.
    pub fn buffered(status: u16, content_type: Option<String>, body: Bytes, backend: String) -> Self {
        UpstreamReply { status, content_type, body: ReplyBody::Read(body), backend }
    }

    /// An answer whose body comes in pieces from `pieces` ([`super::recording`]).
    pub(super) fn streamed(
        status: u16,
        content_type: Option<String>,
        pieces: BoxStream<'static, Result<Bytes, UpstreamError>>,
        backend: String,
    ) -> Self {
        UpstreamReply { status, content_type, body: ReplyBody::Pieces(pieces), backend }
    }

    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The whole body.
    pub async fn bytes(self) -> Result<Bytes, UpstreamError> {
        let backend = self.backend;
        match self.body {
            ReplyBody::Read(b) => Ok(b),
            ReplyBody::Unread(mut r) => {
                // A whole answer is held in memory: an upstream that never stops sending must
                // not grow it without bound.
                let mut whole = Vec::new();
                while let Some(chunk) =
                    r.chunk().await.map_err(|e| UpstreamError::Cut { backend: backend.clone(), reason: reason(&e) })?
                {
                    if whole.len() + chunk.len() > MAX_WHOLE_BODY_BYTES {
                        let reason = format!("the answer is over {} MiB", MAX_WHOLE_BODY_BYTES >> 20);
                        return Err(UpstreamError::Cut { backend, reason });
                    }
                    whole.extend_from_slice(&chunk);
                }
                Ok(Bytes::from(whole))
            }
            ReplyBody::Pieces(mut pieces) => {
                let mut whole = Vec::new();
                while let Some(piece) = pieces.next().await {
                    whole.extend_from_slice(&piece?);
                }
                Ok(Bytes::from(whole))
            }
        }
    }

    /// The body as it arrives. An error after the first byte is a cut stream: the caller
    /// ends its own stream with an error event.
    pub fn chunks(self) -> BoxStream<'static, Result<Bytes, UpstreamError>> {
        let backend = self.backend;
        match self.body {
            ReplyBody::Read(b) => futures::stream::once(async move { Ok(b) }).boxed(),
            ReplyBody::Unread(r) => r
                .bytes_stream()
                .map(move |r| r.map_err(|e| UpstreamError::Cut { backend: backend.clone(), reason: reason(&e) }))
                .boxed(),
            ReplyBody::Pieces(pieces) => pieces,
        }
    }
}

/// A transport error in words, without the URL (which may carry a key in its query).
pub(super) fn reason(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "could not connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the answer's body broke off"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}
