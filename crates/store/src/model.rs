//! The records the store keeps.

use std::fmt;
use std::str::FromStr;

/// A project's billing tier; quota limits are configured per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Free,
    Tier1,
    Tier2,
    Tier3,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Free, Tier::Tier1, Tier::Tier2, Tier::Tier3];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Tier1 => "tier1",
            Tier::Tier2 => "tier2",
            Tier::Tier3 => "tier3",
        }
    }

    pub fn is_free(self) -> bool {
        self == Tier::Free
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown tier \"{s}\" (free, tier1, tier2, tier3)"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub display_name: String,
    pub tier: Tier,
    /// The guide: free-tier data may be used to improve products unless the project opts out.
    /// gemd never uses request data; the flag is kept for parity and shown in the console.
    pub logging_opt_out: bool,
    pub created_at_ms: i64,
}

/// An API key as stored: never the key itself, only its digest and a short visible prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    /// The first characters of the key (e.g. `AIzaSyAb`), to recognise it in lists.
    pub prefix: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A key just created: the only moment the secret exists outside its owner's hands.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Usage of one project for one model on one Pacific day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRow {
    pub project_id: String,
    pub model: String,
    /// `YYYY-MM-DD` in America/Los_Angeles.
    pub day: String,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub candidate_tokens: i64,
    /// Prompt tokens served from a context cache (explicit or implicit); part of `prompt_tokens`.
    pub cached_tokens: i64,
    /// Context-cache storage held, in token-seconds (the console shows token-hours).
    pub cache_token_seconds: i64,
    /// Requests run by the Batch API; part of `requests`.
    pub batch_requests: i64,
}

/// Usage of one project for one model in one clock hour (UTC-aligned; the console's chart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyRow {
    pub model: String,
    pub hour_start_ms: i64,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub candidate_tokens: i64,
    /// Prompt tokens served from a context cache (explicit or implicit); part of `prompt_tokens`.
    pub cached_tokens: i64,
    /// Context-cache storage held, in token-seconds (the console shows token-hours).
    pub cache_token_seconds: i64,
    /// Requests run by the Batch API; part of `requests`.
    pub batch_requests: i64,
}

/// A request refused for quota (429), for the console's "recent 429s".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub project_id: String,
    pub model: String,
    pub at_ms: i64,
    /// The violated limits, comma-separated (`requests per minute,input tokens per minute`).
    pub metrics: String,
    pub retry_after_ms: i64,
}
