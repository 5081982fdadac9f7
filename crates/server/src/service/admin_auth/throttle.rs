//! How fast the admin token can be guessed. Every presentation of the token itself (a
//! sign-in, or the token as a bearer) takes one allowance from its client's bucket and one from
//! the server's; a match gives both back, a mismatch keeps them. A bucket refills one
//! allowance per interval. While either bucket is empty every token attempt it governs, right
//! or wrong, is answered 429 before the token is compared: comparing first would tell a
//! guesser when it is right, which is all a throttle must not do.
//!
//! Why both buckets, and why small bursts with steady refills instead of a lockout: a per-client
//! bucket alone is no bound for a guesser with many addresses, and a server-wide bucket alone
//! lets one client deny every other its sign-in. A lockout after N failures would let anyone
//! lock the operator out at will; here an attacker can only keep the allowances drained (it
//! needs ~6 addresses to drain the server's with the defaults), console sessions already signed
//! in are never throttled (a session is an HMAC no one can guess), and each refused attempt
//! says when the next allowance comes (`Retry-After`). The defaults bound guessing to about
//! 3,600 attempts an hour (was ~3,000 a second); the generated admin token has ~238 bits.
//!
//! Clients are told apart by their connection's address (IPv6 by its /64, the block one host
//! usually holds); `X-Forwarded-For` is not read, because anyone can write it. Behind a
//! reverse proxy every client shares the proxy's bucket. Reservations are RAII ([`Attempt`]),
//! so concurrent guesses cannot all pass a check before any failure is counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits on presenting a wrong admin token. The defaults are what `gemd serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Wrong tokens one client may present in a row.
    pub per_client_burst: u32,
    /// One more wrong token is allowed per client each interval.
    pub per_client_refill: Duration,
    /// Wrong tokens all clients together may present in a row.
    pub server_burst: u32,
    /// One more wrong token is allowed server-wide each interval.
    pub server_refill: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            per_client_burst: 10,
            per_client_refill: Duration::from_secs(6),
            server_burst: 100,
            server_refill: Duration::from_secs(1),
        }
    }
}

/// Clients tracked at once. Past this, buckets that have refilled are forgotten; if none has,
/// a new client goes untracked and only the server-wide bucket bounds it.
const MAX_CLIENTS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    allowances: u32,
    /// When the allowance being refilled started refilling.
    since: Instant,
}

impl Bucket {
    fn full(burst: u32, now: Instant) -> Self {
        Bucket { allowances: burst, since: now }
    }

    fn refill(&mut self, burst: u32, every: Duration, now: Instant) {
        let every = every.max(Duration::from_millis(1));
        let earned = now.saturating_duration_since(self.since).as_nanos() / every.as_nanos();
        if earned == 0 {
            return;
        }
        self.allowances = (u128::from(self.allowances) + earned).min(u128::from(burst)) as u32;
        self.since = if self.allowances == burst { now } else { self.since + every * earned as u32 };
    }

    /// How long until an allowance is available (zero when one is).
    fn wait(&self, every: Duration, now: Instant) -> Duration {
        if self.allowances > 0 {
            Duration::ZERO
        } else {
            (self.since + every).saturating_duration_since(now)
        }
    }

    fn take(&mut self, burst: u32, now: Instant) {
        if self.allowances == burst {
            self.since = now;
        }
        self.allowances -= 1;
    }

    fn give_back(&mut self, burst: u32) {
        self.allowances = (self.allowances + 1).min(burst);
    }
}

/// The block a client is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientId {
    V4([u8; 4]),
    V6Net([u8; 8]),
}

impl From<IpAddr> for ClientId {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientId::V4(v4.octets()),
            IpAddr::V6(v6) => ClientId::V6Net(v6.octets()[..8].try_into().expect("16 octets")),
        }
    }
}

struct Buckets {
    server: Bucket,
    clients: HashMap<ClientId, Bucket>,
}

/// The throttle one admin verifier holds.
pub struct SignInThrottle {
    limits: SignInLimits,
    buckets: Arc<Mutex<Buckets>>,
}

/// Too many wrong tokens: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

impl SignInThrottle {
    pub fn new(limits: SignInLimits) -> Self {
        let now = Instant::now();
        let buckets = Buckets { server: Bucket::full(limits.server_burst, now), clients: HashMap::new() };
        SignInThrottle { limits, buckets: Arc::new(Mutex::new(buckets)) }
    }

    /// Reserves one allowance for a token attempt by `client` (unknown: the server-wide
    /// bucket only), or says how long to wait. Drop the [`Attempt`] for a wrong token; call
    /// [`Attempt::matched`] for the right one.
    pub fn attempt(&self, client: Option<IpAddr>, now: Instant) -> Result<Attempt, Throttled> {
        let l = self.limits;
        let mut b = self.buckets.lock().expect("throttle lock");
        b.server.refill(l.server_burst, l.server_refill, now);
        let client_ip = client;
        let client = client.map(ClientId::from).filter(|id| track(&mut b.clients, *id, l, now));
        let mut wait = b.server.wait(l.server_refill, now);
        if let Some(id) = client {
            let bucket = b.clients.get_mut(&id).expect("tracked above");
            bucket.refill(l.per_client_burst, l.per_client_refill, now);
            wait = wait.max(bucket.wait(l.per_client_refill, now));
        }
        if !wait.is_zero() {
            return Err(Throttled { retry_after: wait });
        }
        b.server.take(l.server_burst, now);
        if let Some(id) = client {
            b.clients.get_mut(&id).expect("tracked above").take(l.per_client_burst, now);
        }
        Ok(Attempt { limits: l, buckets: self.buckets.clone(), client, from: client_ip, matched: false })
    }
}

/// Makes sure `id` has a bucket; false when the table is full of clients still refilling.
fn track(clients: &mut HashMap<ClientId, Bucket>, id: ClientId, l: SignInLimits, now: Instant) -> bool {
    if clients.contains_key(&id) {
        return true;
    }
    if clients.len() >= MAX_CLIENTS {
        clients.retain(|_, bucket| {
            bucket.refill(l.per_client_burst, l.per_client_refill, now);
            bucket.allowances < l.per_client_burst
        });
        if clients.len() >= MAX_CLIENTS {
            return false;
        }
    }
    clients.insert(id, Bucket::full(l.per_client_burst, now));
    true
}

/// One reserved token attempt: counts as a wrong token unless [`Attempt::matched`] is called.
#[must_use = "dropping the attempt counts it as a wrong token"]
pub struct Attempt {
    limits: SignInLimits,
    buckets: Arc<Mutex<Buckets>>,
    client: Option<ClientId>,
    /// The address, for the log line of a wrong token.
    from: Option<IpAddr>,
    matched: bool,
}

impl Attempt {
    /// The token was right: the reservation is given back.
    pub fn matched(mut self) {
        self.matched = true;
        let mut b = self.buckets.lock().expect("throttle lock");
        b.server.give_back(self.limits.server_burst);
        if let Some(bucket) = self.client.and_then(|id| b.clients.get_mut(&id)) {
            bucket.give_back(self.limits.per_client_burst);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.matched {
            let from = self.from.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
            tracing::warn!(%from, "wrong admin token presented");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SignInLimits {
        SignInLimits {
            per_client_burst: 3,
            per_client_refill: Duration::from_secs(10),
            server_burst: 5,
            server_refill: Duration::from_secs(1),
        }
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));

    #[test]
    fn a_client_that_used_its_burst_waits_for_the_refill_right_token_or_not() {
        let t = SignInThrottle::new(limits());
        let t0 = Instant::now();
        for _ in 0..3 {
            drop(t.attempt(A, t0).expect("within the burst"));
        }
        let refused = t.attempt(A, t0).err().expect("the burst is spent");
        assert_eq!(refused.retry_after, Duration::from_secs(10));
        assert!(t.attempt(A, t0 + Duration::from_secs(9)).is_err(), "still within the interval");
        // Another client is not locked out by A.
        t.attempt(B, t0).expect("B has its own bucket").matched();
        // One interval later one attempt is allowed again; the right token gives it back.
        t.attempt(A, t0 + Duration::from_secs(10)).expect("refilled").matched();
        t.attempt(A, t0 + Duration::from_secs(10)).expect("a match costs nothing").matched();
    }

    #[test]
    fn right_tokens_never_use_up_the_allowances() {
        let t = SignInThrottle::new(limits());
        let t0 = Instant::now();
        for _ in 0..50 {
            t.attempt(A, t0).expect("a right token is never counted").matched();
        }
    }

    #[test]
    fn the_server_wide_bucket_bounds_many_clients() {
        let t = SignInThrottle::new(limits());
        let t0 = Instant::now();
        for i in 0..5u8 {
            drop(
                t.attempt(Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, i))), t0)
                    .expect("within the server's burst"),
            );
        }
        let refused = t
            .attempt(Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 99))), t0)
            .err()
            .expect("server burst spent");
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(t.attempt(None, t0).is_err(), "an unknown client is bounded by the server-wide bucket too");
        drop(t.attempt(None, t0 + Duration::from_secs(1)).expect("one per second"));
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientId::from(a), ClientId::from(b));
        assert_ne!(ClientId::from(a), ClientId::from(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(ClientId::from(mapped), ClientId::from(A.unwrap()));
    }

    #[test]
    fn the_client_table_is_bounded() {
        let t = SignInThrottle::new(SignInLimits { server_burst: u32::MAX, ..limits() });
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 10) {
            drop(t.attempt(Some(IpAddr::V4(i.into())), t0).expect("the server bucket is unbounded here"));
        }
        assert_eq!(t.buckets.lock().unwrap().clients.len(), MAX_CLIENTS);
        // Once the tracked clients have refilled, they make room again.
        drop(t.attempt(Some(IpAddr::V4(u32::MAX.into())), t0 + Duration::from_secs(30)).unwrap());
        assert!(t.buckets.lock().unwrap().clients.len() < MAX_CLIENTS);
    }
}
