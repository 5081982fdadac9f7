//! The envelope on hyper's own answers. A request hyper cannot parse (a malformed request
//! line or header, a URI too long, headers over its buffer or header count) never reaches a
//! handler: hyper writes `400`, `414` or `431` itself, with an empty body, and closes the
//! connection (hyper's `proto/h1/role.rs`, `Server::on_error`). This wrapper of the write
//! side recognises that head and writes the same status with the `google.rpc.Status` body.
//!
//! Recognising it is exact, not a guess: it is an error status line followed by nothing but
//! `content-length: 0` and `date` (at most a `connection` header), written as one whole
//! head. No answer gemd's handlers write looks so: every error of theirs is the envelope,
//! typed JSON with a length (the `envelope` middleware makes sure of it). Nor can a body:
//! after a short write the rest of a body may start a write, but bodies are JSON, SSE or
//! console files, where a CR LF pair followed by a header line cannot occur unescaped.
//!
//! Rejected alternative: raising hyper's header limits and checking sizes in a middleware,
//! which still leaves hyper's bare answer for whatever lies past the raised limits (and for
//! every malformed request).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::error::HttpError;

pub(super) struct AutoAnswers<I> {
    io: I,
    /// The envelope answer still to write in place of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<I> AutoAnswers<I> {
    pub(super) fn new(io: I) -> Self {
        AutoAnswers { io, replacement: None }
    }
}

impl<I: AsyncWrite + Unpin> AutoAnswers<I> {
    /// Writes what is left of the replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` in place of hyper's bodyless answer, if it is one: reports it written and
    /// queues the envelope answer instead.
    fn replaced(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<io::Result<usize>> {
        let code = hyper_answer(head)?;
        self.replacement = Some((enveloped(code), 0));
        // Whatever is not written now is written by the flush hyper does next.
        match self.poll_replacement(cx) {
            Poll::Ready(Err(e)) => Some(Err(e)),
            _ => Some(Ok(head.len())),
        }
    }
}

/// The status of `head` if it is the whole of an answer hyper wrote by itself.
fn hyper_answer(head: &[u8]) -> Option<StatusCode> {
    let text = std::str::from_utf8(head).ok()?;
    let lines = text.strip_suffix("\r\n\r\n")?;
    let mut lines = lines.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ").or_else(|| status_line.strip_prefix("HTTP/1.0 "))?.get(..3)?;
    let code = StatusCode::from_bytes(code.as_bytes()).ok().filter(|c| c.is_client_error() || c.is_server_error())?;
    let mut bodyless = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" if value.trim() == "0" => bodyless = true,
            "date" | "connection" => {}
            _ => return None,
        }
    }
    bodyless.then_some(code)
}

/// The full answer for `code`: the envelope, and the connection closed after it, as hyper
/// closes it.
fn enveloped(code: StatusCode) -> Vec<u8> {
    let message = match code {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "The request's header fields are too large.",
        StatusCode::URI_TOO_LONG => "The request URI is too long.",
        _ => "The request is not valid HTTP/1.1.",
    };
    let body = serde_json::to_string(&HttpError::Status { code, message: message.to_string() }.status().into_body())
        .expect("Status serialises");
    let reason = code.canonical_reason().unwrap_or("Error");
    format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        code.as_u16(),
        body.len()
    )
    .into_bytes()
}

impl<I: AsyncWrite + Unpin> AsyncWrite for AutoAnswers<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        if let Some(done) = this.replaced(cx, buf) {
            return Poll::Ready(done);
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        // hyper queues a head as a buffer of its own: an answer of its own is the first one.
        if let Some(done) = bufs.iter().find(|b| !b.is_empty()).and_then(|head| this.replaced(cx, head)) {
            return Poll::Ready(done);
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for AutoAnswers<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodyless_error_heads_are_replaced() {
        let date = "date: Mon, 01 Jan 2026 00:00:00 GMT";
        let hyper431 = format!("HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n{date}\r\n\r\n");
        assert_eq!(hyper_answer(hyper431.as_bytes()), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        let ours = format!("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: 0\r\n{date}\r\n\r\n");
        assert_eq!(hyper_answer(ours.as_bytes()), None, "a typed answer is a handler's");
        let ok = format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{date}\r\n\r\n");
        assert_eq!(hyper_answer(ok.as_bytes()), None);
        let with_body = format!("{hyper431}{{}}");
        assert_eq!(hyper_answer(with_body.as_bytes()), None, "a head followed by a body is a handler's");
        let answer = String::from_utf8(enveloped(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!((v["error"]["code"].as_u64(), v["error"]["status"].as_str()), (Some(431), Some("INVALID_ARGUMENT")));
    }
}
