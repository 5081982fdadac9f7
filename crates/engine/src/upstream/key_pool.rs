//! The API keys of one upstream, handed out round-robin. A key the upstream answered 429 is
//! benched until the delay it was told (`RetryInfo.retryDelay` or `Retry-After`); a key it
//! answered 401/403 is disabled for the life of the process and reported once, by its first
//! characters only. Time is passed in (`now`), so the pool is tested without sleeping.
//!
//! Rejected alternative: picking the least-recently-benched key. Round-robin spreads a
//! project's traffic evenly over the keys, which is what per-key quotas upstream reward, and
//! needs no bookkeeping beyond a cursor.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One key's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Ready,
    /// Told to wait: usable again at this instant.
    BenchedUntil(Instant),
    /// Refused by the upstream (401/403): never used again.
    Disabled,
}

#[derive(Debug)]
struct Slot {
    secret: String,
    standing: Standing,
}

/// A key handed out for one attempt: its position (to report back) and the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct LeasedKey {
    pub index: usize,
    pub secret: String,
}

impl std::fmt::Debug for LeasedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LeasedKey({} {})", self.index, key_prefix(&self.secret))
    }
}

/// Why no key can be leased now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKey {
    /// Every usable key is benched; the first is usable again after this long.
    AllBenched(Duration),
    /// Every key was refused by the upstream.
    AllDisabled,
}

/// What the console and `/healthz` show of one key: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyReport {
    pub prefix: String,
    pub state: &'static str,
    /// Seconds until a benched key is used again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benched_seconds: Option<u64>,
}

#[derive(Debug)]
pub struct KeyPool {
    slots: Mutex<(Vec<Slot>, usize)>,
}

/// The first characters of a key, which is all a log or the console may show of it.
pub fn key_prefix(secret: &str) -> String {
    let shown: String = secret.chars().take(6).collect();
    format!("{shown}…")
}

impl KeyPool {
    /// A pool of `keys`; an upstream without keys (another gemd on loopback that takes
    /// none) has an empty pool and sends no key.
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        let slots = keys.into_iter().map(|secret| Slot { secret, standing: Standing::Ready }).collect();
        KeyPool { slots: Mutex::new((slots, 0)) }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.lock().expect("key pool lock").0.is_empty()
    }

    /// The next usable key after the last one handed out.
    pub fn lease(&self, now: Instant) -> Result<LeasedKey, NoKey> {
        let mut guard = self.slots.lock().expect("key pool lock");
        let (slots, cursor) = &mut *guard;
        let n = slots.len();
        let mut soonest: Option<Instant> = None;
        for step in 0..n {
            let i = (*cursor + step) % n;
            match slots[i].standing {
                Standing::BenchedUntil(t) if t > now => soonest = Some(soonest.map_or(t, |s| s.min(t))),
                Standing::Disabled => {}
                _ => {
                    slots[i].standing = Standing::Ready;
                    *cursor = (i + 1) % n;
                    return Ok(LeasedKey { index: i, secret: slots[i].secret.clone() });
                }
            }
        }
        match soonest {
            Some(t) => Err(NoKey::AllBenched(t - now)),
            None => Err(NoKey::AllDisabled),
        }
    }

    /// The upstream answered 429 on this key: rest it for `delay`.
    pub fn bench(&self, key: &LeasedKey, until: Instant) {
        let mut guard = self.slots.lock().expect("key pool lock");
        if let Some(slot) = guard.0.get_mut(key.index) {
            if slot.standing != Standing::Disabled {
                slot.standing = Standing::BenchedUntil(until);
            }
        }
    }

    /// The upstream refused this key (401/403): never use it again. Returns whether it was
    /// usable until now (so the caller reports it once).
    pub fn disable(&self, key: &LeasedKey) -> bool {
        let mut guard = self.slots.lock().expect("key pool lock");
        match guard.0.get_mut(key.index) {
            Some(slot) if slot.standing != Standing::Disabled => {
                slot.standing = Standing::Disabled;
                true
            }
            _ => false,
        }
    }

    pub fn report(&self, now: Instant) -> Vec<KeyReport> {
        let guard = self.slots.lock().expect("key pool lock");
        guard
            .0
            .iter()
            .map(|s| {
                let (state, benched_seconds) = match s.standing {
                    Standing::BenchedUntil(t) if t > now => ("benched", Some((t - now).as_secs_f64().ceil() as u64)),
                    Standing::Disabled => ("disabled", None),
                    _ => ("ready", None),
                };
                KeyReport { prefix: key_prefix(&s.secret), state, benched_seconds }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> KeyPool {
        KeyPool::new(["key-a-secret", "key-b-secret", "key-c-secret"].map(String::from))
    }

    #[test]
    fn keys_are_handed_out_in_turn() {
        let (p, now) = (pool(), Instant::now());
        let order: Vec<usize> = (0..5).map(|_| p.lease(now).unwrap().index).collect();
        assert_eq!(order, [0, 1, 2, 0, 1]);
    }

    #[test]
    fn a_benched_key_is_skipped_until_its_delay_has_passed() {
        let (p, now) = (pool(), Instant::now());
        let a = p.lease(now).unwrap();
        p.bench(&a, now + Duration::from_secs(30));
        let order: Vec<usize> = (0..4).map(|_| p.lease(now).unwrap().index).collect();
        assert_eq!(order, [1, 2, 1, 2]);
        let later = now + Duration::from_secs(31);
        let order: Vec<usize> = (0..3).map(|_| p.lease(later).unwrap().index).collect();
        assert_eq!(order, [0, 1, 2], "back in turn once rested");
    }

    #[test]
    fn when_every_key_is_benched_the_soonest_return_is_said() {
        let (p, now) = (pool(), Instant::now());
        for secs in [40, 10, 20] {
            let k = p.lease(now).unwrap();
            p.bench(&k, now + Duration::from_secs(secs));
        }
        assert_eq!(p.lease(now), Err(NoKey::AllBenched(Duration::from_secs(10))));
    }

    #[test]
    fn a_refused_key_is_never_used_again_and_reported_once() {
        let (p, now) = (pool(), Instant::now());
        let a = p.lease(now).unwrap();
        assert!(p.disable(&a));
        assert!(!p.disable(&a), "reported once");
        p.bench(&a, now + Duration::from_secs(1));
        assert!((0..6).all(|_| p.lease(now + Duration::from_secs(5)).unwrap().index != 0));
        let b = p.lease(now).unwrap();
        let c = p.lease(now).unwrap();
        p.disable(&b);
        p.disable(&c);
        assert_eq!(p.lease(now), Err(NoKey::AllDisabled));
    }

    #[test]
    fn reports_show_prefixes_never_secrets() {
        let (p, now) = (pool(), Instant::now());
        let a = p.lease(now).unwrap();
        p.bench(&a, now + Duration::from_millis(1500));
        let b = p.lease(now).unwrap();
        p.disable(&b);
        let r = p.report(now);
        assert_eq!(r[0], KeyReport { prefix: "key-a-…".into(), state: "benched", benched_seconds: Some(2) });
        assert_eq!((r[1].state, r[2].state), ("disabled", "ready"));
        let shown = format!("{r:?} {a:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn an_empty_pool_has_no_key_to_lease() {
        let p = KeyPool::new(Vec::new());
        assert!(p.is_empty());
        assert_eq!(p.lease(Instant::now()), Err(NoKey::AllDisabled));
    }
}
