//! The admin credential: one admin token (a secret of its own, never an API key) and the
//! console sessions signed in with it. A session is `gs1.<expiry ms>.<HMAC-SHA256>` keyed by a
//! digest of the token, so every replica sharing the token accepts it, a restart keeps it,
//! and changing the token signs everyone out. Admin calls carry it (or the token itself) in
//! `Authorization: Bearer`: never a cookie, so no other site can make a browser send it
//! (no CSRF), and never a URL, so it stays out of logs and history.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a console sign-in lasts.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
const SESSION_PREFIX: &str = "gs1.";

pub struct AdminAuth {
    token_digest: [u8; 32],
    signing_key: [u8; 32],
}

/// A signed-in console session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at_ms: i64,
}

impl AdminAuth {
    pub fn new(admin_token: &str) -> Self {
        let mut key = Sha256::new();
        key.update(b"gemd console session\0");
        key.update(admin_token.as_bytes());
        AdminAuth { token_digest: Sha256::digest(admin_token.as_bytes()).into(), signing_key: key.finalize().into() }
    }

    fn is_token(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.ct_eq(&self.token_digest).into()
    }

    fn signature(&self, expires_at_ms: i64) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("HMAC takes any key length");
        mac.update(SESSION_PREFIX.as_bytes());
        mac.update(expires_at_ms.to_string().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Exchanges the admin token for a session.
    pub fn sign_in(&self, presented: &str, now_ms: i64) -> Result<Session, ApiError> {
        if !self.is_token(presented) {
            return Err(ApiError::Unauthenticated("The admin token is not valid.".into()));
        }
        let expires_at_ms = now_ms + SESSION_MS;
        let token = format!("{SESSION_PREFIX}{expires_at_ms}.{}", hex::encode(self.signature(expires_at_ms)));
        Ok(Session { token, expires_at_ms })
    }

    /// Accepts a live session or the admin token itself (for scripts).
    pub fn verify(&self, presented: &str, now_ms: i64) -> Result<(), ApiError> {
        let invalid = || ApiError::Unauthenticated("The admin credential is not valid. Sign in with the admin token.".into());
        let Some(rest) = presented.strip_prefix(SESSION_PREFIX) else {
            return if self.is_token(presented) { Ok(()) } else { Err(invalid()) };
        };
        let (expiry, signature) = rest.split_once('.').ok_or_else(invalid)?;
        let expires_at_ms: i64 = expiry.parse().map_err(|_| invalid())?;
        let presented_sig = hex::decode(signature).map_err(|_| invalid())?;
        if !bool::from(presented_sig.ct_eq(&self.signature(expires_at_ms))) {
            return Err(invalid());
        }
        if expires_at_ms <= now_ms {
            return Err(ApiError::Unauthenticated("Your console sign-in has expired. Sign in again with the admin token.".into()));
        }
        Ok(())
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Proof that an admin call carried a valid session or the admin token. First in every
/// admin handler's arguments, so nothing is read or done before it.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let credential = value.and_then(|v| v.trim().split_once(' ')).filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, c)| c.trim());
        match credential {
            None | Some("") => Err(ApiError::Unauthenticated("The admin API needs `Authorization: Bearer <session or admin token>`.".into())),
            Some(c) => state.admin.verify(c, now_ms()).map(|()| Admin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_signed_and_expire() {
        let auth = AdminAuth::new("s3cret");
        assert!(auth.sign_in("wrong", 0).is_err());
        let s = auth.sign_in("s3cret", 1_000).unwrap();
        assert_eq!(s.expires_at_ms, 1_000 + SESSION_MS);
        assert!(auth.verify(&s.token, 2_000).is_ok());
        assert!(auth.verify("s3cret", 2_000).is_ok(), "the token itself is accepted");
        let expired = auth.verify(&s.token, 1_000 + SESSION_MS).unwrap_err();
        assert!(expired.to_string().contains("expired"));
        // A forged expiry does not match the signature.
        let forged = s.token.replacen(&s.expires_at_ms.to_string(), &(s.expires_at_ms + SESSION_MS).to_string(), 1);
        assert!(auth.verify(&forged, 2_000).is_err());
        // Another token's sessions are not valid here.
        let other = AdminAuth::new("other").sign_in("other", 1_000).unwrap();
        assert!(auth.verify(&other.token, 2_000).is_err());
        assert!(auth.verify("gs1.garbage", 2_000).is_err());
    }
}
