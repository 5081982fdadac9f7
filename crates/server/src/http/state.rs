//! Shared state of the HTTP layer: the service's catalog, access and admin verifier, and the
//! limits the server applies before any of them runs (and the one it applies to the whole
//! call: its deadline).

use std::sync::Arc;
use std::time::Duration;

use super::cors::CorsPolicy;
use crate::service::access::Access;
use crate::service::admin_auth::AdminAuth;
use crate::service::catalog::Catalog;
use crate::service::files::Files;

/// Limits the server applies: before any model runs, on what a request may be, how long its
/// connection may take to send it, and how many connections are served at once; and how long
/// a whole call may take.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest request body accepted (bytes). A larger declared `Content-Length` is refused
    /// with 413 before any of the body is read.
    pub max_body_bytes: usize,
    /// From accepting a connection, or from the first byte of a request on a kept-alive one,
    /// to the end of that request's headers.
    pub header_timeout: Duration,
    /// The whole request body must arrive within this time, plus one second for every
    /// `body_min_bytes_per_second` bytes received (so a large body on a steady link fits, and
    /// a trickle does not hold a connection). Answers never count (the call's `deadline`
    /// bounds those).
    pub body_timeout: Duration,
    pub body_min_bytes_per_second: u64,
    /// How long a kept-alive connection with no request in flight waits for the next one.
    pub idle_timeout: Duration,
    /// Connections served at once on each listener; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// The longest a call to the public API may run, from its routing to its answer's last
    /// byte; a client's `X-Server-Timeout` can shorten it, never lengthen it (`deadline`).
    pub deadline: Duration,
    /// Which browser origins may call the public API (`/v1beta`, `/v1`, `/upload`).
    pub cors: CorsPolicy,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            // The real service accepts inline requests up to 20 MB.
            max_body_bytes: 20 * 1024 * 1024,
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(60),
            // 20 MB at 64 KiB/s is given 60 + 320 seconds.
            body_min_bytes_per_second: 64 * 1024,
            idle_timeout: Duration::from_secs(60),
            // Well under the common 1,024-descriptor soft limit, which also covers the model
            // files, the key store and the log.
            max_connections: 512,
            // Ten minutes: a long answer of a small model on a few cores fits, a client cannot
            // hold a generation or an upstream call for longer by asking.
            deadline: Duration::from_secs(600),
            cors: CorsPolicy::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// Keys, projects and quotas.
    pub access: Arc<Access>,
    pub limits: ServerLimits,
    /// The admin token's verifier, for the admin API and the console.
    pub admin: Arc<AdminAuth>,
    /// The Files API: uploads, file records and bytes.
    pub files: Arc<Files>,
}
