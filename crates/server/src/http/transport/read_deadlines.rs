//! The read side of a connection under two deadlines: a request's headers must arrive within
//! `header_timeout` (from the connection's start, or from the request's first byte on a
//! kept-alive connection), and a kept-alive connection with nothing in flight waits at most
//! `idle_timeout` for that first byte. Past either, reading fails and hyper closes the
//! connection. While a request is being served nothing here applies: its body has its own
//! deadline (`request::DeadlineBody`) and its answer, a stream included, takes what it takes.
//!
//! Why not hyper's `header_read_timeout`: hyper starts that timer as soon as the connection
//! is ready for the next request, so it is also the idle timeout, and one cannot be longer
//! than the other; a short header limit (against slow-header clients) would close pooled
//! keep-alive connections that clients expect to reuse.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::request::Activity;

/// What the connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The rest of a request's headers (the connection is new, or a request has begun).
    Head,
    /// The first byte of the next request (the last answer is done).
    NextRequest,
    /// Nothing: a request is being served.
    Serving,
}

pub(super) struct ReadDeadlines<I> {
    io: I,
    activity: Arc<Activity>,
    header_timeout: Duration,
    idle_timeout: Duration,
    waiting: Waiting,
    /// Requests finished when the connection last turned idle.
    finished_seen: u64,
    timer: Pin<Box<Sleep>>,
}

impl<I> ReadDeadlines<I> {
    pub(super) fn new(io: I, activity: Arc<Activity>, header_timeout: Duration, idle_timeout: Duration) -> Self {
        let timer = Box::pin(tokio::time::sleep(header_timeout));
        ReadDeadlines { io, activity, header_timeout, idle_timeout, waiting: Waiting::Head, finished_seen: 0, timer }
    }

    fn wait_for(&mut self, what: Waiting, within: Duration) {
        self.waiting = what;
        self.timer.as_mut().reset(Instant::now() + within);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for ReadDeadlines<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(finished) = this.activity.finished_when_idle(cx) else {
            this.waiting = Waiting::Serving;
            return Pin::new(&mut this.io).poll_read(cx, buf);
        };
        if this.waiting == Waiting::Serving || finished != this.finished_seen {
            this.finished_seen = finished;
            this.wait_for(Waiting::NextRequest, this.idle_timeout);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.waiting == Waiting::NextRequest && buf.filled().len() > before {
                    this.wait_for(Waiting::Head, this.header_timeout);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let what = if this.waiting == Waiting::Head {
                        "request headers"
                    } else {
                        "a request on an idle connection"
                    };
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("gave up waiting for {what}"))))
                }
                Poll::Pending => Poll::Pending,
            },
            failed => failed,
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for ReadDeadlines<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
