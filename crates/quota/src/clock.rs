//! Time for the limiter: an injectable clock, and the quota day, which runs from midnight to
//! midnight in America/Los_Angeles (DST-correct), as the real service resets daily quotas.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(ms: i64) -> Self {
        ManualClock(AtomicI64::new(ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The quota day containing `now_ms`, and the instant (ms) it ends: the next midnight in
/// Los Angeles.
pub fn pacific_day(now_ms: i64) -> (NaiveDate, i64) {
    let now = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
    let local = now.with_timezone(&Los_Angeles);
    let day = local.date_naive();
    let next = day.checked_add_days(Days::new(1)).expect("dates do not overflow");
    // Midnight always exists in Los Angeles (its DST switches happen at 02:00).
    let end = Los_Angeles
        .from_local_datetime(&next.and_hms_opt(0, 0, 0).expect("valid time"))
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or(now_ms + 86_400_000);
    (day, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn the_day_ends_at_pacific_midnight_not_utc() {
        // 2026-07-01 06:59 UTC is 23:59 PDT on June 30.
        let (day, end) = pacific_day(ms("2026-07-01T06:59:00Z"));
        assert_eq!(day.to_string(), "2026-06-30");
        assert_eq!(end, ms("2026-07-01T07:00:00Z"));
        // In winter the offset is 8 hours.
        let (day, end) = pacific_day(ms("2026-01-15T12:00:00Z"));
        assert_eq!(day.to_string(), "2026-01-15");
        assert_eq!(end, ms("2026-01-16T08:00:00Z"));
    }

    #[test]
    fn dst_changes_give_23_and_25_hour_days() {
        // 2026-03-08: clocks spring forward in Los Angeles; the day is 23 hours long.
        let (day, end) = pacific_day(ms("2026-03-08T12:00:00Z"));
        assert_eq!(day.to_string(), "2026-03-08");
        assert_eq!(end, ms("2026-03-09T07:00:00Z"));
        let (_, start) = pacific_day(ms("2026-03-07T12:00:00Z"));
        assert_eq!(end - start, 23 * 3_600_000);
        // 2026-11-01: clocks fall back; 25 hours.
        let (_, start) = pacific_day(ms("2026-10-31T12:00:00Z"));
        let (_, end) = pacific_day(ms("2026-11-01T12:00:00Z"));
        assert_eq!(end - start, 25 * 3_600_000);
    }
}
