//! The admin credential: one admin token (a secret of its own, never an API key) and the
//! console sessions signed in with it. A session is `gs1.<expiry ms>.<HMAC-SHA256>` keyed by a
//! digest of the token, so every replica sharing the token accepts it, a restart keeps it,
//! and changing the token signs everyone out. Admin calls carry it (or the token itself) in
//! `Authorization: Bearer`: never a cookie, so no other site can make a browser send it
//! (no CSRF), and never a URL, so it stays out of logs and history. Presenting the token is
//! throttled ([`throttle`]). This is the verifier the server state holds; the admin surface
//! (`crate::admin::session`) reads the credential off a request and answers.

mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use gemd_quota::{Clock, SystemClock};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use throttle::SignInLimits;
use throttle::SignInThrottle;

use super::error::{AdminRefusal, ApiError};

/// How long a console sign-in lasts.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
const SESSION_PREFIX: &str = "gs1.";

pub struct AdminAuth {
    token_digest: [u8; 32],
    signing_key: [u8; 32],
    throttle: SignInThrottle,
    /// The wall clock sessions expire by.
    clock: Arc<dyn Clock>,
}

/// When a call happens, in both clocks it needs: the wall clock for session expiry (a session
/// outlives a restart) and the monotonic one for the throttle (a clock step must neither lock
/// anyone out nor refill early).
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub wall_ms: i64,
    pub mono: Instant,
}

/// A signed-in console session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at_ms: i64,
}

impl AdminAuth {
    /// A verifier with the default [`SignInLimits`].
    pub fn new(admin_token: &str) -> Self {
        Self::with_limits(admin_token, SignInLimits::default())
    }

    /// A verifier on the system clock.
    pub fn with_limits(admin_token: &str, limits: SignInLimits) -> Self {
        let mut key = Sha256::new();
        key.update(b"gemd console session\0");
        key.update(admin_token.as_bytes());
        AdminAuth {
            token_digest: Sha256::digest(admin_token.as_bytes()).into(),
            signing_key: key.finalize().into(),
            throttle: SignInThrottle::new(limits),
            clock: Arc::new(SystemClock),
        }
    }

    /// This verifier reading the wall clock from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Now, in both clocks a call needs.
    pub fn now(&self) -> Moment {
        Moment { wall_ms: self.clock.now_ms(), mono: Instant::now() }
    }

    /// Whether `presented` is the admin token, compared in constant time (digests, so not even
    /// the length is compared directly), once the throttle allows `client` an attempt.
    fn is_token(&self, presented: &str, client: Option<IpAddr>, at: Moment) -> Result<bool, ApiError> {
        let attempt = self.throttle.attempt(client, at.mono).map_err(|t| ApiError::SignInThrottled {
            retry_after_secs: t.retry_after.as_secs_f64().ceil().max(1.0) as u64,
        })?;
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let matched: bool = d.ct_eq(&self.token_digest).into();
        if matched {
            attempt.matched();
        }
        Ok(matched)
    }

    fn signature(&self, expires_at_ms: i64) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("HMAC takes any key length");
        mac.update(SESSION_PREFIX.as_bytes());
        mac.update(expires_at_ms.to_string().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Exchanges the admin token for a session.
    pub fn sign_in(&self, presented: &str, client: Option<IpAddr>, at: Moment) -> Result<Session, ApiError> {
        if !self.is_token(presented, client, at)? {
            return Err(ApiError::Unauthenticated(AdminRefusal::WrongToken));
        }
        let expires_at_ms = at.wall_ms + SESSION_MS;
        let token = format!("{SESSION_PREFIX}{expires_at_ms}.{}", hex::encode(self.signature(expires_at_ms)));
        Ok(Session { token, expires_at_ms })
    }

    /// Accepts a live session or the admin token itself (for scripts). Only the token is
    /// throttled: a session's HMAC cannot be guessed, and a signed-in console must keep working
    /// while someone else guesses.
    pub fn verify(&self, presented: &str, client: Option<IpAddr>, at: Moment) -> Result<(), ApiError> {
        let invalid = || ApiError::Unauthenticated(AdminRefusal::InvalidCredential);
        let Some(rest) = presented.strip_prefix(SESSION_PREFIX) else {
            return if self.is_token(presented, client, at)? { Ok(()) } else { Err(invalid()) };
        };
        let (expiry, signature) = rest.split_once('.').ok_or_else(invalid)?;
        let expires_at_ms: i64 = expiry.parse().map_err(|_| invalid())?;
        let presented_sig = hex::decode(signature).map_err(|_| invalid())?;
        if !bool::from(presented_sig.ct_eq(&self.signature(expires_at_ms))) {
            return Err(invalid());
        }
        if expires_at_ms <= at.wall_ms {
            return Err(ApiError::Unauthenticated(AdminRefusal::Expired));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(wall_ms: i64) -> Moment {
        Moment { wall_ms, mono: Instant::now() }
    }

    #[test]
    fn sessions_are_signed_and_expire() {
        let auth = AdminAuth::new("s3cret");
        assert!(auth.sign_in("wrong", None, at(0)).is_err());
        let s = auth.sign_in("s3cret", None, at(1_000)).unwrap();
        assert_eq!(s.expires_at_ms, 1_000 + SESSION_MS);
        assert!(auth.verify(&s.token, None, at(2_000)).is_ok());
        assert!(auth.verify("s3cret", None, at(2_000)).is_ok(), "the token itself is accepted");
        let expired = auth.verify(&s.token, None, at(1_000 + SESSION_MS)).unwrap_err();
        assert!(expired.to_string().contains("expired"));
        // A forged expiry does not match the signature.
        let forged = s.token.replacen(&s.expires_at_ms.to_string(), &(s.expires_at_ms + SESSION_MS).to_string(), 1);
        assert!(auth.verify(&forged, None, at(2_000)).is_err());
        // Another token's sessions are not valid here.
        let other = AdminAuth::new("other").sign_in("other", None, at(1_000)).unwrap();
        assert!(auth.verify(&other.token, None, at(2_000)).is_err());
        assert!(auth.verify("gs1.garbage", None, at(2_000)).is_err());
    }

    #[test]
    fn wrong_tokens_are_throttled_and_sessions_are_not() {
        let limits = SignInLimits {
            per_client_burst: 2,
            per_client_refill: Duration::from_secs(60),
            server_burst: 100,
            server_refill: Duration::from_secs(1),
        };
        let auth = AdminAuth::with_limits("s3cret", limits);
        let guesser = Some(IpAddr::from([203, 0, 113, 7]));
        let t0 = Instant::now();
        let now = |secs: u64| Moment { wall_ms: 1_000, mono: t0 + Duration::from_secs(secs) };
        let session = auth.sign_in("s3cret", guesser, now(0)).unwrap();
        for _ in 0..2 {
            assert!(matches!(auth.sign_in("guess", guesser, now(0)), Err(ApiError::Unauthenticated(_))));
        }
        let refused = auth.sign_in("s3cret", guesser, now(0)).unwrap_err();
        assert!(matches!(refused, ApiError::SignInThrottled { retry_after_secs: 60 }), "{refused:?}");
        assert!(
            matches!(auth.verify("s3cret", guesser, now(30)), Err(ApiError::SignInThrottled { .. })),
            "the token as a bearer too"
        );
        assert!(auth.verify(&session.token, guesser, now(30)).is_ok(), "a signed-in session keeps working");
        assert!(
            auth.sign_in("s3cret", Some(IpAddr::from([203, 0, 113, 8])), now(30)).is_ok(),
            "another client is not locked out"
        );
        assert!(auth.sign_in("s3cret", guesser, now(60)).is_ok(), "after the interval the right token works");
    }
}
