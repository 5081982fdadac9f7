//! The limiter's arithmetic, shared by the in-memory limiter and mirrored by the Redis script:
//! per-minute limits use a sliding log (a request is admitted if the requests and tokens of
//! the last 60 s plus this one fit), the daily limit a counter per Pacific day.

use std::collections::VecDeque;

use chrono::NaiveDate;

use crate::limits::{Decision, Grant, Limits, Metric, Usage, Violation, MINUTE_MS};

/// One (project, model)'s recent history.
#[derive(Debug, Default, Clone)]
pub struct Window {
    /// (admitted at ms, input tokens), oldest first, within the last minute.
    log: VecDeque<(i64, u64)>,
    day: Option<NaiveDate>,
    day_count: u64,
}

impl Window {
    fn prune(&mut self, now: i64, day: NaiveDate) {
        while self.log.front().is_some_and(|(t, _)| *t <= now - MINUTE_MS) {
            self.log.pop_front();
        }
        if self.day != Some(day) {
            self.day = Some(day);
            self.day_count = 0;
        }
    }

    /// Checks all three limits and, only if all pass, counts the request in all three.
    pub fn check_and_take(&mut self, now: i64, day: NaiveDate, day_end: i64, limits: Limits, tokens: u64) -> Decision {
        self.prune(now, day);
        let mut violations = Vec::new();
        if let Some(rpm) = limits.rpm {
            if self.log.len() as u64 + 1 > rpm {
                // Room comes back when the entry that puts us at the limit leaves the window.
                let retry = match (self.log.len() as u64).checked_sub(rpm) {
                    Some(i) if rpm > 0 => self.log[i as usize].0 + MINUTE_MS - now,
                    _ => MINUTE_MS,
                };
                violations.push(Violation {
                    metric: Metric::RequestsPerMinute,
                    limit: rpm,
                    retry_after_ms: retry.max(1),
                });
            }
        }
        if let Some(tpm) = limits.tpm {
            let used: u64 = self.log.iter().map(|(_, n)| n).sum();
            if used + tokens > tpm {
                let mut retry = MINUTE_MS;
                if tokens <= tpm {
                    let mut freed = 0;
                    for (t, n) in &self.log {
                        freed += n;
                        if used - freed + tokens <= tpm {
                            retry = t + MINUTE_MS - now;
                            break;
                        }
                    }
                }
                violations.push(Violation {
                    metric: Metric::InputTokensPerMinute,
                    limit: tpm,
                    retry_after_ms: retry.max(1),
                });
            }
        }
        if let Some(rpd) = limits.rpd {
            if self.day_count + 1 > rpd {
                violations.push(Violation {
                    metric: Metric::RequestsPerDay,
                    limit: rpd,
                    retry_after_ms: (day_end - now).max(1),
                });
            }
        }
        if !violations.is_empty() {
            return Decision::Denied(violations);
        }
        self.log.push_back((now, tokens));
        self.day_count += 1;
        Decision::Allowed(Grant { at_ms: now, tokens })
    }

    /// Undoes one admission of `grant`, taken on Pacific day `day`: its minute-log entry if it
    /// is still in the window, and its count in the day if that day is still today.
    pub fn refund(&mut self, grant: Grant, day: NaiveDate) {
        // Entries are in time order; equal (time, tokens) entries are interchangeable.
        if let Some(i) = self.log.iter().rposition(|&(t, n)| t == grant.at_ms && n == grant.tokens) {
            self.log.remove(i);
        }
        if self.day == Some(day) {
            self.day_count = self.day_count.saturating_sub(1);
        }
    }

    pub fn usage(&mut self, now: i64, day: NaiveDate, day_end: i64) -> Usage {
        self.prune(now, day);
        Usage {
            requests_this_minute: self.log.len() as u64,
            tokens_this_minute: self.log.iter().map(|(_, n)| n).sum(),
            requests_today: self.day_count,
            day_resets_at_ms: day_end,
        }
    }

    /// True when the window holds nothing worth keeping (for garbage collection).
    pub fn is_idle(&self, now: i64, day: NaiveDate) -> bool {
        self.log.back().is_none_or(|(t, _)| *t <= now - MINUTE_MS) && (self.day != Some(day) || self.day_count == 0)
    }
}
