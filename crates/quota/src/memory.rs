//! The in-process limiter: one `Window` per (project, model) behind a mutex, so the three
//! limits are checked and taken in one critical section.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::clock::{pacific_day, Clock, SystemClock};
use crate::limits::{Decision, Grant, Limits, Usage};
use crate::window::Window;
use crate::{Limiter, QuotaError};

pub struct MemoryLimiter {
    clock: Arc<dyn Clock>,
    windows: Mutex<HashMap<(String, String), Window>>,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryLimiter {
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryLimiter { clock, windows: Mutex::new(HashMap::new()) }
    }

    /// The synchronous core (the async trait methods only wrap it).
    pub fn decide(&self, project: &str, model: &str, limits: Limits, tokens: u64) -> Decision {
        let now = self.clock.now_ms();
        let (day, day_end) = pacific_day(now);
        let mut windows = self.windows.lock().expect("limiter lock");
        if windows.len() > 10_000 {
            windows.retain(|_, w| !w.is_idle(now, day));
        }
        windows
            .entry((project.to_string(), model.to_string()))
            .or_default()
            .check_and_take(now, day, day_end, limits, tokens)
    }
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn check_and_take(
        &self,
        project: &str,
        model: &str,
        limits: Limits,
        tokens: u64,
    ) -> Result<Decision, QuotaError> {
        Ok(self.decide(project, model, limits, tokens))
    }

    async fn refund(&self, project: &str, model: &str, grant: Grant) -> Result<(), QuotaError> {
        let (day, _) = pacific_day(grant.at_ms);
        if let Some(w) = self.windows.lock().expect("limiter lock").get_mut(&(project.to_string(), model.to_string())) {
            w.refund(grant, day);
        }
        Ok(())
    }

    async fn usage(&self, project: &str, model: &str) -> Result<Usage, QuotaError> {
        let now = self.clock.now_ms();
        let (day, day_end) = pacific_day(now);
        let mut windows = self.windows.lock().expect("limiter lock");
        Ok(match windows.get_mut(&(project.to_string(), model.to_string())) {
            Some(w) => w.usage(now, day, day_end),
            None => Usage { day_resets_at_ms: day_end, ..Default::default() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::limits::Metric;

    const FLASH: Limits = Limits { rpm: Some(15), tpm: Some(1_000_000), rpd: Some(1500) };

    fn at(clock: &Arc<ManualClock>) -> MemoryLimiter {
        MemoryLimiter::with_clock(clock.clone())
    }

    // 2026-07-01T12:00:00Z
    const NOON: i64 = 1_782_907_200_000;

    #[test]
    fn the_sixteenth_request_in_a_minute_is_refused_until_the_first_expires() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = at(&clock);
        for _ in 0..15 {
            assert!(l.decide("p", "m", FLASH, 10).is_allowed());
            clock.advance_ms(1000);
        }
        let d = l.decide("p", "m", FLASH, 10);
        let Decision::Denied(v) = &d else { panic!("16th allowed") };
        assert_eq!(v[0].metric, Metric::RequestsPerMinute);
        // The first request was at NOON; now is NOON + 15 s: room in 45 s.
        assert_eq!(d.retry_after_ms(), 45_000);
        clock.advance_ms(45_000);
        assert!(l.decide("p", "m", FLASH, 10).is_allowed());
    }

    #[test]
    fn limits_are_per_project_and_model() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = at(&clock);
        let one = Limits { rpm: Some(1), tpm: None, rpd: None };
        assert!(l.decide("p", "a", one, 0).is_allowed());
        assert!(!l.decide("p", "a", one, 0).is_allowed());
        assert!(l.decide("p", "b", one, 0).is_allowed());
        assert!(l.decide("q", "a", one, 0).is_allowed());
    }

    #[test]
    fn tokens_per_minute_wait_for_enough_tokens_to_expire() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = at(&clock);
        let tpm = Limits { rpm: None, tpm: Some(100), rpd: None };
        assert!(l.decide("p", "m", tpm, 60).is_allowed());
        clock.advance_ms(10_000);
        assert!(l.decide("p", "m", tpm, 30).is_allowed());
        clock.advance_ms(10_000);
        let d = l.decide("p", "m", tpm, 50);
        // 90 used; 50 more needs the first 60 gone: at NOON + 60 s, 40 s from now.
        assert_eq!(d.retry_after_ms(), 40_000);
        assert!(l.decide("p", "m", tpm, 10).is_allowed(), "a smaller request still fits");
    }

    #[test]
    fn a_refused_request_consumes_nothing() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = at(&clock);
        let lim = Limits { rpm: Some(10), tpm: Some(100), rpd: Some(2) };
        assert!(l.decide("p", "m", lim, 90).is_allowed());
        // Over TPM: refused, and neither RPM nor RPD is charged.
        assert!(!l.decide("p", "m", lim, 50).is_allowed());
        assert!(!l.decide("p", "m", lim, 50).is_allowed());
        assert!(l.decide("p", "m", lim, 10).is_allowed(), "RPD still had its second request");
        let Decision::Denied(v) = l.decide("p", "m", lim, 0) else { panic!() };
        assert_eq!(v.iter().map(|v| v.metric).collect::<Vec<_>>(), vec![Metric::RequestsPerDay]);
    }

    #[test]
    fn the_day_resets_at_pacific_midnight_across_dst() {
        // 2026-11-01 is 25 hours long in Los Angeles; start at 00:30 PDT (07:30Z).
        let start = 1_793_518_200_000; // 2026-11-01T07:30:00Z
        let clock = Arc::new(ManualClock::at(start));
        let l = at(&clock);
        let lim = Limits { rpm: None, tpm: None, rpd: Some(1) };
        assert!(l.decide("p", "m", lim, 0).is_allowed());
        let d = l.decide("p", "m", lim, 0);
        // Next midnight is 2026-11-02T08:00:00Z (PST): 24.5 h later, not 23.5 h.
        assert_eq!(d.retry_after_ms(), 24 * 3_600_000 + 1_800_000);
        clock.advance_ms(d.retry_after_ms() - 1);
        assert!(!l.decide("p", "m", lim, 0).is_allowed(), "one ms before midnight");
        clock.advance_ms(1);
        assert!(l.decide("p", "m", lim, 0).is_allowed(), "a new day");
    }

    #[test]
    fn a_refund_gives_back_the_minute_and_the_day() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = at(&clock);
        let lim = Limits { rpm: Some(2), tpm: Some(100), rpd: Some(2) };
        assert!(l.decide("p", "m", lim, 60).is_allowed());
        clock.advance_ms(1000);
        let Decision::Allowed(grant) = l.decide("p", "m", lim, 40) else { panic!("second allowed") };
        assert!(!l.decide("p", "m", lim, 0).is_allowed(), "at the limit");
        block_on(l.refund("p", "m", grant));
        let used = l.windows.lock().unwrap().get_mut(&("p".into(), "m".into())).unwrap().usage(
            NOON + 1000,
            pacific_day(NOON).0,
            0,
        );
        assert_eq!((used.requests_this_minute, used.tokens_this_minute, used.requests_today), (1, 60, 1));
        assert!(l.decide("p", "m", lim, 40).is_allowed(), "the refunded room is free again");
    }

    fn block_on<F: std::future::Future<Output = Result<(), QuotaError>>>(f: F) {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f).unwrap();
    }

    #[test]
    fn paid_only_models_have_limit_zero() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = at(&clock);
        let Decision::Denied(v) = l.decide("p", "m", Limits { rpm: Some(0), tpm: Some(0), rpd: Some(0) }, 5) else {
            panic!()
        };
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|v| v.limit == 0));
    }

    #[test]
    fn threads_racing_for_the_last_slots_never_exceed_the_limit() {
        let clock = Arc::new(ManualClock::at(NOON));
        let l = Arc::new(at(&clock));
        let lim = Limits { rpm: Some(15), tpm: None, rpd: Some(15) };
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || (0..50).filter(|_| l.decide("p", "m", lim, 1).is_allowed()).count())
            })
            .collect();
        let admitted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(admitted, 15);
    }
}
