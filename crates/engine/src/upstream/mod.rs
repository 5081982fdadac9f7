//! Upstream backends: other servers that answer for a public model id, reached over HTTP.
//! [`gemini`] speaks the Gemini API (Google itself, or another gemd) and passes native
//! requests through; [`openai`] speaks chat completions (any OpenAI-compatible server), with
//! the translation done by the caller. Both send through one [`transport`], which can record
//! or replay their answers ([`recording`]). Shared here: the configuration every kind takes,
//! the HTTP client built from it (timeouts, proxy), the key pool, the retry backoff and the
//! error an upstream failure is reported as, so the caller can try the next backend of an id.

pub mod backoff;
pub mod breaker;
pub mod capabilities;
pub mod gemini;
pub mod key_pool;
pub mod openai;
pub mod recording;
pub mod reply;
pub mod sse;
pub mod transport;

use std::time::Duration;

pub use backoff::Backoff;
pub use breaker::{BreakerPolicy, CircuitReport};
pub use capabilities::{Capabilities, Capability, UpstreamProtocol};
pub use gemini::{GeminiMethod, GeminiUpstream};
pub use key_pool::{key_prefix, KeyPool, KeyReport};
pub use openai::OpenAiUpstream;
pub use recording::{MissingRecording, Recording};
pub use reply::UpstreamReply;
pub use sse::SseEvents;
pub use transport::{retry_delay, Transport};

/// An upstream backend of either protocol.
pub enum Upstream {
    Gemini(GeminiUpstream),
    OpenAi(OpenAiUpstream),
}

impl Upstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        if let Some(r) = &config.recording {
            r.check(&config.name)?;
        }
        Ok(match config.protocol {
            UpstreamProtocol::Gemini => Upstream::Gemini(GeminiUpstream::new(config)?),
            UpstreamProtocol::OpenAi => Upstream::OpenAi(OpenAiUpstream::new(config)?),
        })
    }

    pub fn transport(&self) -> &Transport {
        match self {
            Upstream::Gemini(u) => u.transport(),
            Upstream::OpenAi(u) => u.transport(),
        }
    }

    pub fn name(&self) -> &str {
        self.transport().name()
    }

    pub fn protocol(&self) -> UpstreamProtocol {
        match self {
            Upstream::Gemini(_) => UpstreamProtocol::Gemini,
            Upstream::OpenAi(_) => UpstreamProtocol::OpenAi,
        }
    }
}

/// One configured upstream backend.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The backend's name in the configuration (what `x-gemd-backend` says).
    pub name: String,
    pub protocol: UpstreamProtocol,
    /// Where the upstream's API lives, without the version: `https://…` or `http://127.0.0.1:8081`.
    pub base_url: String,
    /// The upstream's id for the model; `None`: the public id itself.
    pub model: Option<String>,
    /// The pool of keys sent to the upstream (none for an upstream that takes none).
    pub api_keys: Vec<String>,
    /// How long the upstream may take to start answering, and to send each next piece.
    pub timeout: Duration,
    /// A proxy for this backend's traffic; `None`: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    pub proxy: Option<String>,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    pub backoff: Backoff,
    /// When the backend is skipped as unhealthy.
    pub breaker: BreakerPolicy,
    pub capabilities: Capabilities,
    /// Record the answers into a directory, or answer from one; `None`: neither.
    pub recording: Option<Recording>,
}

/// The default of `timeout_seconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl UpstreamConfig {
    pub fn new(name: &str, base_url: &str, protocol: UpstreamProtocol) -> Self {
        UpstreamConfig {
            capabilities: Capabilities::of_kind(protocol),
            protocol,
            name: name.into(),
            base_url: base_url.into(),
            model: None,
            api_keys: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            proxy: None,
            headers: Vec::new(),
            backoff: Backoff::default(),
            breaker: BreakerPolicy::default(),
            recording: None,
        }
    }

    /// The HTTP client of this backend. reqwest reads the proxy variables itself unless a
    /// proxy is configured here.
    fn client(&self) -> Result<reqwest::Client, UpstreamError> {
        let bad = |reason: String| UpstreamError::Config { backend: self.name.clone(), reason };
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(bad(format!("base_url \"{}\" must start with http:// or https://", self.base_url)));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .read_timeout(self.timeout)
            .pool_idle_timeout(Duration::from_secs(30));
        if let Some(p) = &self.proxy {
            let proxy = reqwest::Proxy::all(p).map_err(|e| bad(format!("proxy \"{p}\": {e}")))?;
            builder = builder.proxy(proxy);
        }
        builder.build().map_err(|e| bad(e.to_string()))
    }
}

/// Why an upstream did not answer. Every variant but [`UpstreamError::NotRecorded`] means
/// "try the next backend".
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum UpstreamError {
    #[error("backend {backend} is unavailable: {reason}")]
    Unavailable { backend: String, reason: String },
    #[error("backend {backend} did not answer within {} s", .after.as_secs())]
    Timeout { backend: String, after: Duration },
    /// Every key of the backend is resting after a 429.
    #[error("backend {backend} is rate-limited for {} s more", .retry_after.as_secs())]
    RateLimited { backend: String, retry_after: Duration },
    /// The answer broke off after it had started.
    #[error("backend {backend} broke off its answer: {reason}")]
    Cut { backend: String, reason: String },
    #[error("backend {backend}: {reason}")]
    Config { backend: String, reason: String },
    /// A replaying backend has no recording of the request: the client's answer (404), not
    /// a reason to try a live backend, which would make a replayed run depend on the network.
    #[error(transparent)]
    NotRecorded(MissingRecording),
}
