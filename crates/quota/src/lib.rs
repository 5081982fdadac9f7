//! gemd-quota: Google's quota model. Limits are per project per model: requests per minute,
//! input tokens per minute (sliding 60-second windows) and requests per day (reset at midnight
//! America/Los_Angeles). One call checks all three and takes from all three, atomically, or
//! takes nothing. In memory for one process; through Redis for replicas.
//!
//! Why sliding windows: Google's 429s name a `retryDelay` shorter than a full minute that
//! counts down from the oldest request in the last minute, and a burst straddling a minute
//! boundary is refused as a whole — both are what a sliding log gives and a fixed window
//! does not. The day is a fixed calendar window because the service guide says daily quota
//! resets at Pacific midnight.

pub mod clock;
pub mod limits;
pub mod memory;
pub mod redis;
pub mod window;

use async_trait::async_trait;

pub use clock::{pacific_day, Clock, ManualClock, SystemClock};
pub use limits::{Decision, Grant, Limits, Metric, Usage, Violation};
pub use memory::MemoryLimiter;
pub use redis::RedisLimiter;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum QuotaError {
    /// The shared quota state cannot be reached.
    #[error("quota backend unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Limiter: Send + Sync + 'static {
    /// Checks the three limits for one request of `tokens` input tokens; if all allow it,
    /// counts it in all three. A denied request consumes nothing.
    async fn check_and_take(
        &self,
        project: &str,
        model: &str,
        limits: Limits,
        tokens: u64,
    ) -> Result<Decision, QuotaError>;

    /// Gives back what an admission took (`grant` from its `Decision::Allowed`), for a request
    /// refused after it was admitted. Best effort: a grant whose minute has passed only
    /// returns its count in the day.
    async fn refund(&self, project: &str, model: &str, grant: Grant) -> Result<(), QuotaError>;

    /// Current use, for the console and the admin API.
    async fn usage(&self, project: &str, model: &str) -> Result<Usage, QuotaError>;
}
