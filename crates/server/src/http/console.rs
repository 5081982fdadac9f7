//! The web console (AI Studio's "Get API key" flow, the quota dashboard, the playground):
//! static files from `crates/server/console/`, embedded in the binary at build time so gemd
//! serves them with no files beside it and nothing fetched from elsewhere at runtime.
//! `GET /` is the page; `GET /console/<asset>` its scripts, styles and icon. Every answer
//! carries a strict Content-Security-Policy (scripts and styles from gemd only, no inline
//! code, no framing) and an ETag, so a browser revalidates cheaply and sees a new build at once.
//! The console talks to the admin API (`/admin/v1/`) with a bearer session kept in
//! `sessionStorage`: no cookie, so there is nothing for a cross-site request to ride on.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use super::state::AppState;

/// One embedded file, named by its path under `console/` (also its URL under `/console/`).
struct Asset {
    path: &'static str,
    body: &'static [u8],
}

/// Embeds `console/<path>` under its own name, so a file cannot be listed under a wrong one.
macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, body: include_bytes!(concat!("../../console/", $path)) }),*]
    };
}

/// Every file of the console. A file added to `console/` must be listed here; the unit test
/// below fails when a page or module refers to one that is not.
const ASSETS: &[Asset] = assets![
    "index.html",
    "app.css",
    "icon.svg",
    "js/main.js",
    "js/api.js",
    "js/session.js",
    "js/dom.js",
    "js/format.js",
    "js/router.js",
    "js/projects.js",
    "js/signin.js",
    "js/keys.js",
    "js/quota.js",
    "js/chart.js",
    "js/playground.js",
    "js/sse.js",
    "js/snippets.js",
    "js/clipboard.js",
];

const INDEX: &str = "index.html";

/// Scripts, styles, images and fetches from gemd itself only; no inline script or style, no
/// plugins, no framing (clickjacking on the revoke and create buttons), no `<base>` tricks.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/console/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve(INDEX, &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        let mut r = (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Not found\n")
            .into_response();
        secure(r.headers_mut());
        return r;
    };
    let asset = &ASSETS[i];
    let etag = &etags()[i];
    // A browser revalidates on every load (`no-cache`); an unchanged file costs a 304 only.
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.into_response() };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.path)));
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex etag"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(h);
    r
}

/// Strong validators, one per asset in `ASSETS` order, computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| ASSETS.iter().map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..20])).collect())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn secure(h: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &str) -> &'static str {
        std::str::from_utf8(ASSETS.iter().find(|a| a.path == path).expect(path).body).expect("utf-8")
    }

    /// Every `/console/…` URL in the page and every relative `import … from './x.js'` in the
    /// modules names an embedded asset: a missing one would only show as a broken page.
    #[test]
    fn every_reference_is_embedded() {
        let known: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        let mut refs = Vec::new();
        for part in text(INDEX).split("\"/console/").skip(1) {
            refs.push(part.split('"').next().unwrap().to_string());
        }
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            for part in text(a.path).split("from './").skip(1) {
                refs.push(format!("js/{}", part.split('\'').next().unwrap()));
            }
        }
        assert!(refs.len() > ASSETS.len() / 2, "found the references: {refs:?}");
        for r in refs {
            assert!(known.contains(&r.as_str()), "{r} is referred to but not embedded");
        }
    }

    /// The CSP forbids inline code, so none may sneak into the page.
    #[test]
    fn page_has_no_inline_code() {
        let html = text(INDEX);
        assert!(!html.contains(" style=") && !html.contains("<style") && !html.contains(" onclick="));
        for part in html.split("<script").skip(1) {
            assert!(part.split('>').next().unwrap().contains("src="), "inline <script> in index.html");
        }
    }

    #[test]
    fn answers_with_types_validators_and_security_headers() {
        let r = serve("js/main.js", &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("default-src 'self'"));
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, h[header::ETAG].clone());
        assert_eq!(serve("js/main.js", &again).status(), StatusCode::NOT_MODIFIED);
        let missing = serve("../Cargo.toml", &HeaderMap::new());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
}
