//! API-key authentication: `x-goog-api-key` header or `key=` query parameter on every surface,
//! and additionally `Authorization: Bearer <key>` (what the OpenAI SDKs send) where the
//! surface's clients send it ([`ErrorForm::BEARER_KEYS`]), all checked against the one key
//! ring. A request may repeat its key but never present two different ones ([`presented_key`]).
//! The presented key is never logged. One extractor, [`Authenticated`], for every surface: its
//! type parameter is the surface's error form, so refusals come back in that surface's shape.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::bearer::bearer_credential;
use super::error::{ErrorForm, ErrorResponse, Gemini};
use super::query::RequestQuery;
use super::state::AppState;
use crate::service::access::Caller;
use crate::service::error::ApiError;

/// Proof that the request carried a valid API key, refused in `F`'s form. Put it first in a
/// handler's arguments so authentication happens before the body is read.
#[derive(Debug, Clone)]
pub struct Authenticated<F: ErrorForm = Gemini> {
    pub caller: Caller,
    form: PhantomData<F>,
}

impl<F: ErrorForm> FromRequestParts<AppState> for Authenticated<F> {
    type Rejection = ErrorResponse<F>;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts, F::BEARER_KEYS)?.ok_or(ApiError::MissingKey)?;
        let caller = state.access.authenticate(&key).await?;
        Ok(Authenticated { caller, form: PhantomData })
    }
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
fn presented_key(parts: &Parts, bearer: bool) -> Result<Option<String>, ApiError> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    if bearer {
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
        return Err(ApiError::AmbiguousKey { places });
    }
    Ok(Some(found.swap_remove(0).1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which places a test request's key is read from.
    #[derive(Clone, Copy)]
    enum Surface {
        Native,
        OpenAi,
    }

    fn parts(uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let mut req = axum::http::Request::builder().uri(uri);
        for (name, value) in headers {
            req = req.header(*name, axum::http::HeaderValue::from_bytes(value).unwrap());
        }
        req.body(()).unwrap().into_parts().0
    }

    fn key_of(uri: &str, headers: &[(&str, &[u8])], surface: Surface) -> Result<Option<String>, ApiError> {
        presented_key(&parts(uri, headers), matches!(surface, Surface::OpenAi))
    }

    fn is_ambiguous(r: Result<Option<String>, ApiError>) -> bool {
        matches!(r, Err(ref e @ ApiError::AmbiguousKey { .. }) if e.to_string().contains("more than one API key"))
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
        assert_eq!(
            key_of("/", &[("authorization", b"Bearer A"), (h, b"B")], Native).unwrap().as_deref(),
            Some("B"),
            "the native surface reads no bearer"
        );
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
