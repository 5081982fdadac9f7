//! API-key authentication: `x-goog-api-key` header or `key=` query parameter on the native
//! surface, and additionally `Authorization: Bearer <key>` (what the OpenAI SDKs send) on the
//! OpenAI layer, all checked against the one key ring. A request may repeat its key but never
//! present two different ones ([`presented_key`]). Keys are held only as SHA-256 digests and
//! compared in constant time; the presented key is never logged.

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
        verify(state, presented_key(parts, Surface::Native)?).await.map(Authenticated)
    }
}

/// The same proof on the OpenAI layer, where `Authorization: Bearer <key>` is one more place
/// for the key; refusals are answered in the layer's error form.
#[derive(Debug, Clone)]
pub struct OpenAiAuthenticated(pub Caller);

impl FromRequestParts<AppState> for OpenAiAuthenticated {
    type Rejection = OpenAiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(verify(state, presented_key(parts, Surface::OpenAi)?).await.map(OpenAiAuthenticated)?)
    }
}

/// Which places a surface reads a key from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// `x-goog-api-key`, `?key=` / `?$key=` (Google's system parameter and its two spellings).
    Native,
    /// Those, and `Authorization: Bearer` (what the OpenAI SDKs send).
    OpenAi,
}

/// The one key a request presents, or `None` when it presents none (empty values are none).
///
/// The rule, one for every place a key can be put: any number of copies of the same key pass;
/// two different keys are refused, 400 INVALID_ARGUMENT, before either is looked up. Google
/// documents the header and the parameter as two spellings of one system parameter and gives
/// no precedence between them, so any "winner" would be a guess that can bill the wrong
/// project; a request that is ambiguous is malformed, which Google answers 400 (its key errors
/// are 400s: 401 UNAUTHENTICATED is for OAuth credentials). A header value that is not
/// visible ASCII cannot be a key: it is the wrong-key answer (400 API_KEY_INVALID), not the
/// missing-key one (403), so the client learns its key is bad rather than absent.
fn presented_key(parts: &Parts, surface: Surface) -> Result<Option<String>, ApiError> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    if surface == Surface::OpenAi {
        for value in parts.headers.get_all(axum::http::header::AUTHORIZATION) {
            if let Some(key) = bearer_credential(value.to_str().map_err(|_| ApiError::InvalidKey)?) {
                found.push(("Authorization: Bearer", key.to_owned()));
            }
        }
    }
    for value in parts.headers.get_all("x-goog-api-key") {
        found.push(("x-goog-api-key", value.to_str().map_err(|_| ApiError::InvalidKey)?.to_owned()));
    }
    found.extend(RequestQuery::from_parts(parts).keys.into_iter().map(|k| ("key", k)));
    found.retain(|(_, key)| !key.is_empty());
    let Some((_, first)) = found.first() else { return Ok(None) };
    if found.iter().any(|(_, key)| key != first) {
        let mut places: Vec<&str> = found.iter().map(|(place, _)| *place).collect();
        places.dedup();
        return Err(ApiError::invalid(
            format!("The request carries more than one API key (in {}). Send one API key.", places.join(", ")),
            None,
        ));
    }
    Ok(Some(found.swap_remove(0).1))
}

/// The credential of an `Authorization: Bearer <key>` value (scheme case-insensitive).
fn bearer_credential(value: &str) -> Option<&str> {
    let (scheme, credential) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credential.trim())
}

async fn verify(state: &AppState, key: Option<String>) -> Result<Caller, ApiError> {
    match key {
        None => Err(ApiError::MissingKey),
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
        assert_eq!(bearer_credential("Bearer AIzaK"), Some("AIzaK"));
        assert_eq!(bearer_credential("bearer  AIzaK "), Some("AIzaK"));
        assert_eq!(bearer_credential("Basic AIzaK"), None);
    }

    fn parts(uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let mut req = axum::http::Request::builder().uri(uri);
        for (name, value) in headers {
            req = req.header(*name, axum::http::HeaderValue::from_bytes(value).unwrap());
        }
        req.body(()).unwrap().into_parts().0
    }

    fn key_of(uri: &str, headers: &[(&str, &[u8])], surface: Surface) -> Result<Option<String>, ApiError> {
        presented_key(&parts(uri, headers), surface)
    }

    fn is_ambiguous(r: Result<Option<String>, ApiError>) -> bool {
        matches!(r, Err(ApiError::InvalidArgument { ref message, .. }) if message.contains("more than one API key"))
    }

    #[test]
    fn the_same_key_twice_passes_and_two_different_keys_are_refused() {
        use Surface::*;
        let h = "x-goog-api-key";
        assert_eq!(key_of("/", &[(h, b"A"), (h, b"A")], Native).unwrap().as_deref(), Some("A"));
        assert_eq!(key_of("/?key=A&key=A", &[(h, b"A")], Native).unwrap().as_deref(), Some("A"));
        assert!(is_ambiguous(key_of("/", &[(h, b"A"), (h, b"B")], Native)), "header vs header");
        assert!(is_ambiguous(key_of("/?key=A&key=B", &[], Native)), "param vs param");
        assert!(is_ambiguous(key_of("/?key=B", &[(h, b"A")], Native)), "header vs param");
        assert!(is_ambiguous(key_of("/?%24key=B&key=A", &[], Native)), "$key is key");
        assert!(is_ambiguous(key_of("/", &[("authorization", b"Bearer A"), (h, b"B")], OpenAi)), "bearer vs header");
        assert_eq!(key_of("/", &[("authorization", b"Bearer A"), (h, b"B")], Native).unwrap().as_deref(), Some("B"), "the native surface reads no bearer");
        // Empty values are no key, not a second key.
        assert_eq!(key_of("/?key=", &[(h, b"A")], Native).unwrap().as_deref(), Some("A"));
        assert_eq!(key_of("/?key=", &[], Native).unwrap(), None);
    }

    #[test]
    fn a_key_header_that_is_not_ascii_is_an_invalid_key() {
        let r = key_of("/", &[("x-goog-api-key", "AIzaé".as_bytes())], Surface::Native);
        assert!(matches!(r, Err(ApiError::InvalidKey)), "{r:?}");
        let r = key_of("/", &[("authorization", "Bearer AIzaé".as_bytes())], Surface::OpenAi);
        assert!(matches!(r, Err(ApiError::InvalidKey)), "{r:?}");
    }
}
