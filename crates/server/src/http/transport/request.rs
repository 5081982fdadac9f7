//! One connection's requests: each is counted while it is served (so the connection's read
//! deadlines know when it is busy and when it is idle) and its body must arrive in time.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use futures::task::AtomicWaker;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::http::state::ServerLimits;

/// Requests begun and finished on one connection. A request is finished when its answer
/// has been written whole or dropped (the client left): only then does the connection turn
/// idle, so a long stream is never taken for an idle connection.
#[derive(Debug, Default)]
pub(super) struct Activity {
    begun: AtomicU64,
    finished: AtomicU64,
    /// The connection's reader, woken when a request finishes: hyper may have parked the
    /// read side while the answer was written and not read again on its own, and the idle
    /// deadline starts only when the reader sees the connection idle.
    reader: AtomicWaker,
}

impl Activity {
    /// Starts a request, finished when the returned guard drops.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.begun.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Requests finished so far, or `None` while one is being served; `cx` is woken when
    /// the next one finishes.
    pub(super) fn finished_when_idle(&self, cx: &Context<'_>) -> Option<u64> {
        self.reader.register(cx.waker());
        let finished = self.finished.load(Ordering::Acquire);
        (self.begun.load(Ordering::Acquire) == finished).then_some(finished)
    }
}

/// A request being served; dropping it finishes the request.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        self.0.reader.wake();
    }
}

/// The service hyper calls for each request of one connection: the router, with the body
/// under its deadline and the answer holding the request's [`InFlight`].
#[derive(Clone)]
pub(super) struct ConnService {
    pub router: Router,
    pub activity: Arc<Activity>,
    pub limits: BodyLimits,
    /// The client's address, given to handlers as axum's `ConnectInfo` (the admin sign-in
    /// throttle counts per client).
    pub peer: Option<std::net::SocketAddr>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        let mut req: Request = req.map(|body| Body::new(DeadlineBody::new(body, self.limits)));
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        }
        let router = self.router.clone();
        Box::pin(async move {
            let resp = router.oneshot(req).await?;
            Ok(resp.map(|body| Body::new(Answer { body, _in_flight: in_flight })))
        })
    }
}

/// The body deadline's terms, from [`ServerLimits`].
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyLimits {
    timeout: Duration,
    min_bytes_per_second: u64,
}

impl From<&ServerLimits> for BodyLimits {
    fn from(l: &ServerLimits) -> Self {
        BodyLimits { timeout: l.body_timeout, min_bytes_per_second: l.body_min_bytes_per_second.max(1) }
    }
}

/// The request body did not arrive in time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("The request body did not arrive in time: {received} bytes in {seconds} seconds.")]
pub struct BodyTimedOut {
    received: u64,
    seconds: u64,
}

/// A request body that must arrive by a deadline: `timeout` after the request began, one
/// second later for every `min_bytes_per_second` bytes received. The clock runs only while
/// a handler waits for the body; a handler that never reads it is not cut short.
struct DeadlineBody {
    body: Incoming,
    limits: BodyLimits,
    begun: Instant,
    received: u64,
    timer: Option<Pin<Box<Sleep>>>,
}

impl DeadlineBody {
    fn new(body: Incoming, limits: BodyLimits) -> Self {
        DeadlineBody { body, limits, begun: Instant::now(), received: 0, timer: None }
    }

    fn deadline(&self) -> Instant {
        self.begun + self.limits.timeout + Duration::from_secs(self.received / self.limits.min_bytes_per_second)
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.received += frame.data_ref().map_or(0, |d| d.len() as u64);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline();
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        let seconds = deadline.duration_since(this.begun).as_secs();
                        Poll::Ready(Some(Err(BodyTimedOut { received: this.received, seconds }.into())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// An answer that finishes its request when it has been written whole or dropped.
struct Answer {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
