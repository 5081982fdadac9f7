//! What a quota check decides, in the terms of Google's quota model.

/// One project's limits for one model. `None`: unlimited. `Some(0)`: not available on this
/// tier (the real service answers paid-only models on the free tier with `limit: 0`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub rpd: Option<u64>,
}

/// The three limited quantities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    RequestsPerMinute,
    InputTokensPerMinute,
    RequestsPerDay,
}

impl Metric {
    /// How the console names the metric.
    pub fn label(self) -> &'static str {
        match self {
            Metric::RequestsPerMinute => "requests per minute",
            Metric::InputTokensPerMinute => "input tokens per minute",
            Metric::RequestsPerDay => "requests per day",
        }
    }
}

/// One exceeded limit and when it frees enough room for the refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub metric: Metric,
    pub limit: u64,
    /// Milliseconds until the window has room again (at least 1).
    pub retry_after_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The request was counted against every limit; `grant` undoes it ([`crate::Limiter::refund`]).
    Allowed(Grant),
    /// Nothing was counted.
    Denied(Vec<Violation>),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }

    /// The wait after which every violated limit has room again.
    pub fn retry_after_ms(&self) -> i64 {
        match self {
            Decision::Allowed(_) => 0,
            Decision::Denied(v) => v.iter().map(|v| v.retry_after_ms).max().unwrap_or(0),
        }
    }
}

/// What one admitted request took: enough to give it back exactly when the request is refused
/// after admission (the engine was overloaded, the grammar did not compile), so that only
/// requests that ran count against the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The limiter's time of the admission (the minute-log entry's timestamp).
    pub at_ms: i64,
    pub tokens: u64,
}

/// Current use of one project's quota for one model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub requests_this_minute: u64,
    pub tokens_this_minute: u64,
    pub requests_today: u64,
    /// When today's count resets (next midnight, America/Los_Angeles), ms since the epoch.
    pub day_resets_at_ms: i64,
}

/// The sliding window of the per-minute limits.
pub const MINUTE_MS: i64 = 60_000;
