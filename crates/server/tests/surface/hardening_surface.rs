//! The edges of the HTTP surface no handler writes: a wrong method is 405 with `Allow` and
//! the envelope (in the OpenAI layer's form under `/v1beta/openai`), an oversized admin body
//! is the envelope's 413, the public API answers CORS as Google's endpoint does and the
//! admin API never does, and the admin API can live on a listener of its own.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use tokio::io::AsyncWriteExt;

use crate::hardening_transport::{answer, connect_to, until_closed};
use crate::harness::{ScriptedEngine, TestServer, ADMIN_TOKEN, KEY};

const ORIGIN: &str = "http://localhost:5173";

fn scripted() -> Arc<ScriptedEngine> {
    Arc::new(ScriptedEngine::text_then_done(&["Hi"]))
}

async fn call(s: &TestServer, method: Method, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = s.http.request(method, url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("sent")
}

/// The error object of an envelope, in either form.
async fn error_of(resp: reqwest::Response) -> Value {
    let text = resp.text().await.expect("body");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
    match v {
        Value::Array(mut a) => a.remove(0)["error"].take(),
        mut v => v["error"].take(),
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_the_envelope() {
    let s = TestServer::with_engine(scripted()).await;
    for (method, path, allowed, array) in [
        (Method::DELETE, "/v1beta/models", "GET", false),
        (Method::GET, "/v1beta/openai/chat/completions", "POST", true),
        (Method::PUT, "/admin/v1/sessions", "POST", false),
    ] {
        let resp = call(&s, method.clone(), &format!("{}{path}", s.base), &[("x-goog-api-key", KEY)]).await;
        assert_eq!(resp.status(), 405, "{method} {path}");
        let allow = resp.headers()["allow"].to_str().unwrap().to_string();
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow}");
        let text = resp.text().await.unwrap();
        assert_eq!(text.trim_start().starts_with('['), array, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let e = if array { &v[0]["error"] } else { &v["error"] };
        assert_eq!((e["code"].as_u64(), e["status"].as_str()), (Some(405), Some("UNIMPLEMENTED")), "{text}");
        assert!(e["message"].as_str().unwrap().contains(path), "{text}");
    }
}

#[tokio::test]
async fn an_oversized_admin_body_is_the_envelopes_413() {
    let s = TestServer::with_engine(scripted()).await;
    // Over the public limit (refused before routing) and over the admin one (by its extractor).
    for declared in [3 * 1024 * 1024, 100 * 1024] {
        let mut conn = connect_to(&s.base).await;
        let head = format!("POST /admin/v1/sessions HTTP/1.1\r\nhost: gemd\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n{{\"token\": \"");
        conn.write_all(head.as_bytes()).await.unwrap();
        let (status, v) = answer(&until_closed(&mut conn).await);
        assert_eq!((status, v["error"]["code"].as_u64()), (413, Some(413)), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("exceeds the limit"), "{v}");
    }
    let resp =
        s.http.post(format!("{}/admin/v1/sessions", s.base)).json(&json!({"token": ADMIN_TOKEN})).send().await.unwrap();
    assert_eq!(resp.status(), 200, "a small body still signs in");
}

#[tokio::test]
async fn the_public_api_answers_cors_as_google_does() {
    let s = TestServer::with_engine(scripted()).await;
    let gen = format!("{}/v1beta/models/gemini-2.5-flash:generateContent", s.base);
    let preflight = [
        ("origin", ORIGIN),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type,x-goog-api-key,x-goog-api-client"),
    ];
    let resp = call(&s, Method::OPTIONS, &gen, &preflight).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert_eq!(h["access-control-allow-headers"], "content-type,x-goog-api-key,x-goog-api-client");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));

    // A header off the list is refused, with no allow-origin for the browser to accept.
    let refused = [
        ("origin", ORIGIN),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type,api-revision"),
    ];
    let resp = call(&s, Method::OPTIONS, &gen, &refused).await;
    assert_eq!(resp.status(), 403);
    assert!(!resp.headers().contains_key("access-control-allow-origin"));
    assert_eq!(error_of(resp).await["status"], "PERMISSION_DENIED");

    // The actual call, its errors and the OpenAI layer are readable by the page.
    let body = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;
    let ok = s.http.post(&gen).header("origin", ORIGIN).header("x-goog-api-key", KEY).body(body).send().await.unwrap();
    assert_eq!(
        (ok.status().as_u16(), ok.headers().get("access-control-allow-origin").cloned()),
        (200, Some(ORIGIN.parse().unwrap()))
    );
    let denied = s.http.post(&gen).header("origin", ORIGIN).body(body).send().await.unwrap();
    assert_eq!(
        (denied.status().as_u16(), denied.headers().get("access-control-allow-origin").cloned()),
        (403, Some(ORIGIN.parse().unwrap()))
    );
    let models = call(
        &s,
        Method::GET,
        &format!("{}/v1beta/openai/models", s.base),
        &[("origin", ORIGIN), ("authorization", &format!("Bearer {KEY}"))],
    )
    .await;
    assert_eq!(models.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn the_admin_api_and_console_never_answer_cors() {
    let s = TestServer::with_engine(scripted()).await;
    for path in ["/admin/v1/sessions", "/admin/v1/models", "/", "/console/js/main.js"] {
        let url = format!("{}{path}", s.base);
        let preflight = call(
            &s,
            Method::OPTIONS,
            &url,
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization"),
            ],
        )
        .await;
        let headers = preflight.headers().clone();
        assert!(headers.keys().all(|k| !k.as_str().starts_with("access-control-")), "{path} preflight: {headers:?}");
        let plain = call(&s, Method::GET, &url, &[("origin", ORIGIN)]).await;
        assert!(
            plain.headers().keys().all(|k| !k.as_str().starts_with("access-control-")),
            "{path}: {:?}",
            plain.headers()
        );
    }
}

#[tokio::test]
async fn the_admin_api_can_have_a_listener_of_its_own() {
    let s = TestServer::admin_apart(scripted()).await;
    let admin = s.admin_base.clone().expect("an admin listener");
    let sign_in = json!({"token": ADMIN_TOKEN});
    let public = s.http.post(format!("{}/admin/v1/sessions", s.base)).json(&sign_in).send().await.unwrap();
    assert_eq!(public.status(), 404);
    assert_eq!(error_of(public).await["status"], "NOT_FOUND");
    let console = s.http.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(console.status(), 404, "the console is off the public port too");

    let resp = s.http.post(format!("{admin}/admin/v1/sessions")).json(&sign_in).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let session: Value = resp.json().await.unwrap();
    let models = s
        .http
        .get(format!("{admin}/admin/v1/models"))
        .bearer_auth(session["session"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    assert_eq!(s.http.get(format!("{admin}/")).send().await.unwrap().status(), 200, "the console is served there");
    // The public API is not on the admin port.
    let (status, _) = s.get_json("/v1beta/models").await;
    assert_eq!(status, 200);
    assert_eq!(
        s.http.get(format!("{admin}/v1beta/models")).header("x-goog-api-key", KEY).send().await.unwrap().status(),
        404
    );
}
