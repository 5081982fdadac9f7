//! Passive health of one upstream: a circuit breaker. After `failures` answers in a row that
//! were failures (no connection, a timeout, a 5xx after the retries), the circuit opens and
//! the backend is skipped at once for `cooldown`, so an id's next backend answers without the
//! dead one's connect timeouts and retries first (measured on the deployment recipe: 0.3–0.6 s
//! a request with connections refused, ~30 s with a host that does not answer). When the
//! cooldown ends, one request is let through as the probe: an answer closes the circuit, a
//! failure opens it again for twice as long (capped), so a backend that stays down costs one
//! probe per cooldown and one that comes back is used again within a cooldown. A 429 is
//! about keys, not health, and a verdict (4xx) is an answer: neither counts.
//!
//! Rejected alternative: active probes on a timer. They need a request that means "are you
//! there" for every kind (Google has none that is free of quota), and they cost traffic when
//! nobody calls; the requests themselves are the probes here. Time is passed in (`now`), so
//! the breaker is tested without sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The thresholds of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failed answers in a row that open the circuit.
    pub failures: u32,
    /// How long the circuit stays open the first time.
    pub cooldown: Duration,
    /// The longest it stays open.
    pub max_cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy { failures: 3, cooldown: Duration::from_secs(10), max_cooldown: Duration::from_secs(120) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cooldown: Duration,
    },
    /// The probe is out; others are still turned away.
    Probing {
        cooldown: Duration,
    },
}

/// Whether a request may go to the backend now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Pass,
    /// The circuit is open: the backend is not tried for this long more.
    Skip(Duration),
}

/// What `/healthz/backends` shows of the circuit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitReport {
    pub state: &'static str,
    pub consecutive_failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_seconds: Option<u64>,
}

#[derive(Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: Mutex<State>,
}

impl Breaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Breaker { policy, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.state.lock().expect("breaker lock");
        match *state {
            State::Closed { .. } => Admission::Pass,
            State::Open { until, cooldown } if now >= until => {
                *state = State::Probing { cooldown };
                Admission::Pass
            }
            State::Open { until, .. } => Admission::Skip(until - now),
            // The probe's answer decides; until then the others go elsewhere.
            State::Probing { cooldown } => Admission::Skip(cooldown.min(Duration::from_secs(1))),
        }
    }

    /// The backend answered (any status that is its verdict).
    pub fn succeeded(&self) {
        *self.state.lock().expect("breaker lock") = State::Closed { failures: 0 };
    }

    /// The backend failed; `true` when this opened the circuit.
    pub fn failed(&self, now: Instant) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        let open = |cooldown: Duration| State::Open { until: now + cooldown, cooldown };
        match *state {
            State::Closed { failures } if failures + 1 >= self.policy.failures => {
                *state = open(self.policy.cooldown);
                true
            }
            State::Closed { failures } => {
                *state = State::Closed { failures: failures + 1 };
                false
            }
            State::Probing { cooldown } => {
                *state = open((cooldown * 2).min(self.policy.max_cooldown));
                true
            }
            // A request admitted before the circuit opened: it is open already.
            State::Open { .. } => false,
        }
    }

    pub fn report(&self, now: Instant) -> CircuitReport {
        match *self.state.lock().expect("breaker lock") {
            State::Closed { failures } => {
                CircuitReport { state: "closed", consecutive_failures: failures, retry_in_seconds: None }
            }
            State::Open { until, .. } => CircuitReport {
                state: "open",
                consecutive_failures: self.policy.failures,
                retry_in_seconds: Some(until.saturating_duration_since(now).as_secs_f64().ceil() as u64),
            },
            State::Probing { .. } => {
                CircuitReport { state: "probing", consecutive_failures: self.policy.failures, retry_in_seconds: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerPolicy {
            failures: 2,
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(25),
        })
    }

    #[test]
    fn opens_after_failures_in_a_row_and_a_probe_closes_it() {
        let (b, t0) = (breaker(), Instant::now());
        assert!(!b.failed(t0));
        b.succeeded();
        assert!(!b.failed(t0), "an answer in between starts the count again");
        assert!(b.failed(t0), "the second failure in a row opens it");
        assert_eq!(b.admit(t0 + Duration::from_secs(4)), Admission::Skip(Duration::from_secs(6)));
        assert_eq!(b.report(t0 + Duration::from_secs(4)).retry_in_seconds, Some(6));
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admission::Pass, "the probe");
        assert!(matches!(b.admit(t1), Admission::Skip(_)), "one probe at a time");
        b.succeeded();
        assert_eq!(b.admit(t1), Admission::Pass);
        assert_eq!(b.report(t1).state, "closed");
    }

    #[test]
    fn a_failed_probe_doubles_the_cooldown_up_to_the_cap() {
        let (b, t0) = (breaker(), Instant::now());
        b.failed(t0);
        b.failed(t0);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admission::Pass);
        assert!(b.failed(t1));
        assert_eq!(b.admit(t1), Admission::Skip(Duration::from_secs(20)));
        let t2 = t1 + Duration::from_secs(20);
        assert_eq!(b.admit(t2), Admission::Pass);
        b.failed(t2);
        assert_eq!(b.admit(t2), Admission::Skip(Duration::from_secs(25)), "capped");
        assert_eq!(b.report(t2).state, "open");
    }
}
