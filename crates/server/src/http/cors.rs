//! CORS for the public API, as Google's endpoint answers it, so browser apps (the
//! @google/genai web SDK, the OpenAI SDK with `dangerouslyAllowBrowser`) can call gemd as
//! they call Google: a preflight from an allowed origin, for GET or POST with allowed
//! request headers, is answered 200 with the origin and the requested headers echoed; one
//! asking for a header off the list is refused 403 with no `Access-Control-Allow-Origin`
//! (Google refuses `api-revision` so). Actual requests from an allowed origin get the origin
//! echoed. No credentials: keys travel in headers, never in cookies.
//!
//! Only paths of the public API get any of this. `/admin`, the console and `/metrics` never
//! carry a CORS header, so no other site's page can read them; a preflight to `/admin` is
//! answered as any OPTIONS there is (405) with no allow headers. Rejected alternative:
//! tower-http's `CorsLayer`, which cannot be scoped by path inside one router and answers
//! every preflight 200 with its full lists whatever was asked.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{Form, HttpError};

/// Path prefixes of the public API (the native surface, the OpenAI layer under
/// `/v1beta/openai`, and Google's upload paths).
const PUBLIC_PREFIXES: &[&str] = &["/v1beta/", "/v1/", "/upload/"];

/// The request headers a page may send by default: what Google's endpoint allows
/// (`content-type`, `x-goog-api-key`, `x-goog-api-client`, `authorization`), what the
/// @google/genai SDK adds (`x-server-timeout` when a timeout is set, `user-agent` where a
/// browser lets it), Google's upload protocol headers, and the OpenAI SDK's.
pub const DEFAULT_ALLOW_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "x-goog-api-client",
    "x-goog-api-key",
    "x-goog-user-project",
    "x-server-timeout",
    "user-agent",
    "x-goog-upload-protocol",
    "x-goog-upload-command",
    "x-goog-upload-offset",
    "x-goog-upload-header-content-length",
    "x-goog-upload-header-content-type",
    "openai-organization",
    "openai-project",
    "x-stainless-arch",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
];

/// Why a preflight is refused (403, with no `Access-Control-Allow-Origin`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsRefusal {
    #[error("CORS request from origin {0} is not allowed.")]
    Origin(String),
    #[error("CORS request for method {0} is not allowed.")]
    Method(String),
    #[error("CORS request header {0} is not allowed.")]
    Header(String),
}

/// Methods of the public API.
const ALLOW_METHODS: &[Method] = &[Method::GET, Method::POST];

/// Which origins may call the public API from a browser, with which request headers.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    origins: Origins,
    allow_headers: Arc<[HeaderName]>,
    max_age: Duration,
}

#[derive(Debug, Clone)]
enum Origins {
    Any,
    Listed(Arc<[HeaderValue]>),
}

#[derive(Debug, thiserror::Error)]
pub enum CorsError {
    #[error("CORS origin {0:?} is not an origin (scheme://host[:port], or \"*\" for any)")]
    Origin(String),
    #[error("CORS header {0:?} is not a header name")]
    Header(String),
}

impl Default for CorsPolicy {
    /// Google's: any origin, the default headers, preflights cached for an hour.
    fn default() -> Self {
        CorsPolicy::new(["*"], DEFAULT_ALLOW_HEADERS, Duration::from_secs(3600)).expect("the default policy is valid")
    }
}

impl CorsPolicy {
    /// `origins` are exact origins, or `*` for any; none turns CORS off.
    pub fn new<O: AsRef<str>, H: AsRef<str>>(
        origins: impl IntoIterator<Item = O>,
        allow_headers: impl IntoIterator<Item = H>,
        max_age: Duration,
    ) -> Result<Self, CorsError> {
        let mut listed = Vec::new();
        let mut any = false;
        for o in origins {
            let o = o.as_ref().trim();
            if o == "*" {
                any = true;
            } else if o.contains("://") && !o.ends_with('/') {
                listed.push(HeaderValue::from_str(o).map_err(|_| CorsError::Origin(o.to_string()))?);
            } else {
                return Err(CorsError::Origin(o.to_string()));
            }
        }
        let allow_headers = allow_headers
            .into_iter()
            .map(|h| {
                HeaderName::from_bytes(h.as_ref().trim().to_ascii_lowercase().as_bytes())
                    .map_err(|_| CorsError::Header(h.as_ref().to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let origins = if any { Origins::Any } else { Origins::Listed(listed.into()) };
        Ok(CorsPolicy { origins, allow_headers: allow_headers.into(), max_age })
    }

    /// No CORS at all: browsers keep other sites' pages from reading gemd's answers.
    pub fn disabled() -> Self {
        CorsPolicy { origins: Origins::Listed(Arc::new([])), allow_headers: Arc::new([]), max_age: Duration::ZERO }
    }

    fn enabled(&self) -> bool {
        !matches!(&self.origins, Origins::Listed(l) if l.is_empty())
    }

    fn allows_origin(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::Listed(l) => l.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        }
    }

    /// The first requested header that is not allowed, if any.
    fn refused_header<'a>(&self, requested: &'a str) -> Option<&'a str> {
        requested
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .find(|h| !self.allow_headers.iter().any(|a| a.as_str().eq_ignore_ascii_case(h)))
    }
}

fn is_public(path: &str) -> bool {
    PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Middleware: answers preflights to the public API and marks its answers readable by the
/// allowed origins; passes everything else through untouched.
pub async fn cors(State(policy): State<CorsPolicy>, req: Request, next: Next) -> Response {
    if !policy.enabled() || !is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (true, Some(origin)) = (preflight, &origin) {
        return answer_preflight(&policy, origin, req.headers());
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // The answer's headers depend on the Origin: caches must keep one copy per origin.
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|o| policy.allows_origin(o)) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    resp
}

fn answer_preflight(policy: &CorsPolicy, origin: &HeaderValue, request: &HeaderMap) -> Response {
    let method = request.get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok()).unwrap_or("");
    let requested = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS).and_then(|v| v.to_str().ok()).unwrap_or("");
    let refusal = if !policy.allows_origin(origin) {
        Some(CorsRefusal::Origin(origin.to_str().unwrap_or("?").to_string()))
    } else if !ALLOW_METHODS.iter().any(|m| m.as_str() == method) {
        Some(CorsRefusal::Method(method.to_string()))
    } else {
        policy.refused_header(requested).map(|h| CorsRefusal::Header(h.to_string()))
    };
    let mut resp = match refusal {
        // The preflight's own refusal, in the native form whatever the path.
        Some(refusal) => HttpError::from(refusal).render(Form::Gemini),
        None => {
            let mut ok = StatusCode::OK.into_response();
            let h = ok.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            if let Ok(v) = HeaderValue::from_str(&requested.to_ascii_lowercase()) {
                if !requested.is_empty() {
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
                }
            }
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(policy.max_age.as_secs()));
            ok
        }
    };
    resp.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_check() {
        let p = CorsPolicy::default();
        assert!(p.enabled() && p.allows_origin(&HeaderValue::from_static("http://localhost:5173")));
        assert_eq!(p.refused_header("Content-Type, X-Goog-Api-Key"), None);
        assert_eq!(p.refused_header("content-type,api-revision"), Some("api-revision"));
        let listed = CorsPolicy::new(["https://app.example"], ["content-type"], Duration::ZERO).unwrap();
        assert!(listed.allows_origin(&HeaderValue::from_static("https://app.example")));
        assert!(!listed.allows_origin(&HeaderValue::from_static("https://evil.example")));
        assert!(!CorsPolicy::new(Vec::<&str>::new(), ["content-type"], Duration::ZERO).unwrap().enabled());
        assert!(CorsPolicy::new(["app.example"], ["content-type"], Duration::ZERO).is_err());
        assert!(CorsPolicy::new(["*"], ["bad header"], Duration::ZERO).is_err());
        assert!(
            is_public("/v1beta/models")
                && is_public("/v1beta/openai/models")
                && !is_public("/admin/v1/models")
                && !is_public("/")
        );
    }
}
