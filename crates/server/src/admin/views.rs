//! The admin API's JSON shapes (camelCase, times as RFC 3339 in UTC, like Google's APIs).

use chrono::{DateTime, SecondsFormat};
use gemd_store::{ApiKey, Project};
use serde::Serialize;

/// An RFC 3339 time from milliseconds since the epoch.
pub fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: String,
    pub display_name: String,
    pub tier: &'static str,
    pub logging_opt_out: bool,
    pub create_time: String,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> Self {
        ProjectView {
            id: p.id,
            display_name: p.display_name,
            tier: p.tier.as_str(),
            logging_opt_out: p.logging_opt_out,
            create_time: time(p.created_at_ms),
        }
    }
}

/// A key as the console lists it: never the secret, only its visible prefix.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    pub prefix: String,
    pub create_time: String,
    pub last_use_time: Option<String>,
    pub revoked: bool,
    pub revoke_time: Option<String>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        KeyView {
            id: k.id,
            project_id: k.project_id,
            display_name: k.display_name,
            prefix: k.prefix,
            create_time: time(k.created_at_ms),
            last_use_time: k.last_used_at_ms.map(time),
            revoked: k.revoked_at_ms.is_some(),
            revoke_time: k.revoked_at_ms.map(time),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(super::time(1_795_608_000_123), "2026-11-25T12:00:00.123Z");
    }
}
