//! How long to wait before retrying an upstream that failed before its first byte:
//! exponential, capped, with jitter so that replicas retrying the same outage do not arrive
//! in step ("equal jitter": half the delay fixed, half random, so a retry never comes
//! immediately).

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first retry (before jitter).
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// Retries of one backend before the next one in the list is tried.
    pub retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(2), retries: 2 }
    }
}

impl Backoff {
    /// The delay before retry `attempt` (0 for the first retry), `unit` in [0, 1) choosing
    /// within the jitter range.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let full = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.cap);
        let half = full / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::thread_rng().gen::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_within_their_jitter_range() {
        let b = Backoff::default();
        let lows: Vec<u64> = (0..6).map(|a| b.delay_with(a, 0.0).as_millis() as u64).collect();
        let highs: Vec<u64> = (0..6).map(|a| b.delay_with(a, 1.0).as_millis() as u64).collect();
        assert_eq!(lows, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(highs, [200, 400, 800, 1600, 2000, 2000]);
        for a in 0..40 {
            let d = b.delay(a);
            assert!(d >= b.delay_with(a, 0.0) && d <= b.delay_with(a, 1.0), "{a}: {d:?}");
        }
    }
}
