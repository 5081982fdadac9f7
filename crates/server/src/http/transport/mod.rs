//! Serving connections: gemd's own accept loop around hyper's HTTP/1.1 connection builder
//! (what `axum::serve` does, plus what it cannot be told). Every connection is bounded:
//! in number (`max_connections` per listener: a permit is taken before accepting, so at the
//! limit new connections wait in the kernel's accept queue and hold no descriptor here), in
//! the time its headers, its body and its idle spells may take (`read_deadlines`,
//! `request`), and a malformed request gets the envelope (`auto_answers`). Answers are not
//! timed here (a call's deadline bounds those: `crate::http::deadline`). An accept error
//! other than a client's reset (EMFILE when descriptors run out) is logged once and retried
//! after a short, growing backoff instead of spinning.
//!
//! HTTP/1.1 only, as `axum::serve` was with axum's default features (no HTTP/2, no h2c).
//! Shutdown is graceful as before: accepting stops, idle connections close, requests in
//! flight (streams included) finish.

mod auto_answers;
mod read_deadlines;
mod request;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

pub use request::BodyTimedOut;

use crate::http::state::ServerLimits;
use auto_answers::AutoAnswers;
use read_deadlines::ReadDeadlines;
use request::{Activity, BodyLimits, ConnService};

/// Serves each listener with its router until `shutdown` resolves, then stops accepting and
/// waits for the connections' requests in flight to finish.
pub async fn serve(
    sites: Vec<(TcpListener, Router)>,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    {
        let accepting = futures::future::join_all(
            sites.into_iter().map(|(listener, router)| accept(listener, router, limits, &graceful)),
        );
        tokio::select! {
            _ = accepting => {}
            _ = shutdown => {}
        }
    }
    graceful.shutdown().await;
    Ok(())
}

/// Accepts connections on `listener` for ever, at most `max_connections` served at once.
async fn accept(listener: TcpListener, router: Router, limits: &ServerLimits, graceful: &GracefulShutdown) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut backoff = Backoff::default();
    loop {
        let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let stream = loop {
            match listener.accept().await {
                Ok((stream, _)) => break stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => backoff.wait(&e).await,
            }
        };
        backoff = Backoff::default();
        let connection = graceful.watch(connection(stream, router.clone(), limits));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
}

/// One connection: its IO under the read deadlines and with enveloped automatic answers,
/// its requests through [`ConnService`].
fn connection(
    stream: TcpStream,
    router: Router,
    limits: &ServerLimits,
) -> http1::Connection<TokioIo<AutoAnswers<ReadDeadlines<TcpStream>>>, ConnService> {
    let activity = Arc::new(Activity::default());
    let peer = stream.peer_addr().ok();
    let io = AutoAnswers::new(ReadDeadlines::new(stream, activity.clone(), limits.header_timeout, limits.idle_timeout));
    let service = ConnService { router, activity, limits: BodyLimits::from(limits), peer };
    let mut builder = http1::Builder::new();
    // ReadDeadlines bounds the headers; hyper's own timer would be the idle timeout too.
    builder.header_read_timeout(None);
    builder.serve_connection(TokioIo::new(io), service)
}

/// Errors of one connection that came and went before it was accepted: nothing to wait for.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// The wait after an accept error such as EMFILE: 20 ms, doubling to a second, logged at
/// the first error of a run (one line, not one per retry).
struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { delay: Duration::from_millis(20) }
    }
}

impl Backoff {
    const MAX: Duration = Duration::from_secs(1);

    async fn wait(&mut self, e: &io::Error) {
        if self.delay == Backoff::default().delay {
            tracing::error!(error = %e, "accept error; retrying with backoff (at `max_connections` new connections wait instead: lower it, or raise the descriptor limit)");
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Self::MAX);
    }
}
