//! API-key authentication: `x-goog-api-key` header or `key=` query parameter on the native
//! surface, and additionally `Authorization: Bearer <key>` (what the OpenAI SDKs send) on the
//! OpenAI layer, all checked against the one key ring. Keys are held only as SHA-256 digests
//! and compared in constant time; the presented key is never logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access::Caller;
use crate::error::{ApiError, OpenAiError};
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
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        verify(state, google_key(parts)).await.map(Authenticated)
    }
}

/// The same proof on the OpenAI layer: `Authorization: Bearer <key>` first, then the native
/// forms; refusals are answered in the layer's error form.
#[derive(Debug, Clone)]
pub struct OpenAiAuthenticated(pub Caller);

impl FromRequestParts<AppState> for OpenAiAuthenticated {
    type Rejection = OpenAiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = bearer_key(parts).or_else(|| google_key(parts));
        Ok(verify(state, key).await.map(OpenAiAuthenticated)?)
    }
}

/// The key from `x-goog-api-key`, else from `?key=`.
fn google_key(parts: &Parts) -> Option<String> {
    let header = parts.headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    header.or_else(|| RequestQuery::from_parts(parts).key)
}

/// The credential of `Authorization: Bearer <key>` (scheme case-insensitive).
fn bearer_key(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credential.trim().to_owned())
}

async fn verify(state: &AppState, key: Option<String>) -> Result<Caller, ApiError> {
    match key {
        None => Err(ApiError::MissingKey),
        Some(k) if k.is_empty() => Err(ApiError::MissingKey),
        Some(k) => state.access.authenticate(&k).await,
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

    #[test]
    fn bearer_credentials_are_read_case_insensitively() {
        let parts = |value: &str| axum::http::Request::builder().header("authorization", value).body(()).unwrap().into_parts().0;
        assert_eq!(bearer_key(&parts("Bearer AIzaK")).as_deref(), Some("AIzaK"));
        assert_eq!(bearer_key(&parts("bearer  AIzaK ")).as_deref(), Some("AIzaK"));
        assert_eq!(bearer_key(&parts("Basic AIzaK")), None);
    }
}
