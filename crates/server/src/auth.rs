//! API-key authentication for the native surface: `x-goog-api-key` header or `key=` query
//! parameter. Keys are held only as SHA-256 digests and compared in constant time; the
//! presented key is never logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::query::RequestQuery;
use crate::state::AppState;

/// The accepted keys, as digests.
#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    digests: Vec<[u8; 32]>,
}

impl KeyRing {
    pub fn new<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        KeyRing { digests: keys.into_iter().map(|k| digest(k.as_ref())).collect() }
    }

    pub fn add_digest(&mut self, digest: [u8; 32]) {
        self.digests.push(digest);
    }

    /// True when `key` is one of the ring's keys. Every stored digest is compared, so the time
    /// taken does not reveal which (if any) matched.
    pub fn contains(&self, key: &str) -> bool {
        let d = digest(key);
        self.digests.iter().fold(0u8, |found, k| found | k.ct_eq(&d).unwrap_u8()) == 1
    }
}

pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Proof that the request carried a valid API key. Put it first in a handler's arguments so
/// authentication happens before the body is read.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated;

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let key = match header {
            Some(k) => Some(k),
            None => RequestQuery::from_parts(parts).key,
        };
        match key {
            None => Err(ApiError::MissingKey),
            Some(k) if k.is_empty() => Err(ApiError::MissingKey),
            Some(k) if state.keys.contains(&k) => Ok(Authenticated),
            Some(_) => Err(ApiError::InvalidKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_matches_only_its_keys() {
        let ring = KeyRing::new(["AIzaA", "AIzaB"]);
        assert!(ring.contains("AIzaB"));
        assert!(!ring.contains("AIzaC"));
        assert!(!KeyRing::default().contains(""));
    }
}
