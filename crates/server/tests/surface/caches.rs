//! The `cachedContents` resource over HTTP on a scripted engine: create, get, list, patch
//! (the expiry only), delete; a request naming a cache is the whole request (the same prompt
//! tokens); and Google's refusals, each with its status and field.

use gemd_server::{Backends, QuotaTable, DEFAULT_BACKEND};
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::shared::server::{test_catalog, test_specs, TEST_OUTPUT_LIMIT};
use crate::upstream::hello_engine;

const MODEL: &str = "gemini-2.5-flash";

/// A server whose ids take caches of any size but gemini-2.5-pro's (Google's 4,096).
async fn server() -> TestServer {
    let mut backends = Backends::default();
    backends.engines.insert(DEFAULT_BACKEND.into(), hello_engine(&["ok"]));
    let specs = test_specs(TEST_OUTPUT_LIMIT)
        .into_iter()
        .map(|mut s| {
            if s.id != "gemini-2.5-pro" {
                s.generative_mut().unwrap().min_cache_tokens = 1;
            }
            s
        })
        .collect();
    TestServer::with_catalog(test_catalog(specs, &backends), QuotaTable::unlimited()).await
}

fn doc() -> Value {
    json!([{"role": "user", "parts": [{"text": "The code word is HELIOTROPE."}]}])
}

async fn send(s: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = s.http.request(method, format!("{}{path}", s.base)).header("x-goog-api-key", crate::harness::KEY);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_cache_is_created_read_listed_extended_and_deleted() {
    let s = server().await;
    let body = json!({"model": format!("models/{MODEL}"), "displayName": "d", "contents": doc(), "ttl": "300s",
                      "systemInstruction": {"parts": [{"text": "brief"}]}});
    let (status, cache) = s.post_json("/v1beta/cachedContents", &body.to_string()).await;
    assert_eq!(status, 200, "{cache}");
    let name = cache["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("cachedContents/") && cache["model"] == format!("models/{MODEL}"), "{cache}");
    assert!(cache["usageMetadata"]["totalTokenCount"].as_i64().unwrap() > 0);
    assert!(cache.get("contents").is_none() && cache.get("systemInstruction").is_none(), "input only: {cache}");

    let (status, got) = s.get_json(&format!("/v1beta/{name}")).await;
    assert_eq!((status, &got), (200, &cache));
    let (_, listed) = s.get_json("/v1beta/cachedContents?pageSize=5").await;
    assert_eq!(listed["cachedContents"][0]["name"], name.as_str());

    let (status, patched) =
        send(&s, reqwest::Method::PATCH, &format!("/v1beta/{name}?updateMask=ttl"), Some(json!({"ttl": "7200s"})))
            .await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched["expireTime"].as_str().unwrap() > cache["expireTime"].as_str().unwrap());
    let (status, refused) =
        send(&s, reqwest::Method::PATCH, &format!("/v1beta/{name}?updateMask=contents"), Some(json!({}))).await;
    assert_eq!((status, refused["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{refused}");

    let (status, gone) = send(&s, reqwest::Method::DELETE, &format!("/v1beta/{name}"), None).await;
    assert_eq!((status, gone), (200, json!({})));
    let (status, missing) = s.get_json(&format!("/v1beta/{name}")).await;
    assert_eq!((status, missing["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")), "{missing}");
}

#[tokio::test]
async fn a_request_naming_a_cache_is_the_whole_request() {
    let s = server().await;
    let body = json!({"model": MODEL, "contents": doc(), "systemInstruction": {"parts": [{"text": "brief"}]}});
    let (_, cache) = s.post_json("/v1beta/cachedContents", &body.to_string()).await;
    let question = json!({"role": "user", "parts": [{"text": "What is the code word?"}]});
    let cached = json!({"cachedContent": cache["name"], "contents": [question]});
    let whole = json!({"contents": [doc()[0], question], "systemInstruction": {"parts": [{"text": "brief"}]}});
    let path = format!("/v1beta/models/{MODEL}:generateContent");
    let (status, a) = s.post_json(&path, &cached.to_string()).await;
    let (_, b) = s.post_json(&path, &whole.to_string()).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["usageMetadata"]["promptTokenCount"], b["usageMetadata"]["promptTokenCount"]);

    let count = json!({"generateContentRequest": {"model": format!("models/{MODEL}"), "cachedContent": cache["name"], "contents": [question]}});
    let (status, counted) = s.post_json(&format!("/v1beta/models/{MODEL}:countTokens"), &count.to_string()).await;
    let (_, whole_count) = s.post_json(&format!("/v1beta/models/{MODEL}:countTokens"), &json!({"generateContentRequest": {"model": format!("models/{MODEL}"), "contents": [doc()[0], question], "systemInstruction": {"parts": [{"text": "brief"}]}}}).to_string()).await;
    assert_eq!((status, &counted["totalTokens"]), (200, &whole_count["totalTokens"]), "{counted}");
}

#[tokio::test]
async fn googles_refusals() {
    let s = server().await;
    let create = |body: Value| {
        let s = &s;
        async move { s.post_json("/v1beta/cachedContents", &body.to_string()).await }
    };
    let field = |v: &Value| v["error"]["details"][0]["fieldViolations"][0]["field"].as_str().map(str::to_string);
    let (status, v) = create(json!({"contents": doc()})).await;
    assert_eq!((status, field(&v).as_deref()), (400, Some("cached_content.model")), "{v}");
    let (status, v) = create(json!({"model": MODEL, "contents": doc(), "ttl": "300"})).await;
    assert_eq!((status, field(&v).as_deref()), (400, Some("cached_content.ttl")), "{v}");
    let (status, v) =
        create(json!({"model": MODEL, "contents": doc(), "ttl": "1s", "expireTime": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = create(json!({"model": "gemini-2.5-pro", "contents": doc()})).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with("Cached content is too small. total_token_count="),
        "{v}"
    );
    let (status, v) = create(json!({"model": "no-such-model", "contents": doc()})).await;
    assert_eq!(status, 404, "{v}");

    let (_, cache) = create(json!({"model": MODEL, "contents": doc()})).await;
    let path = format!("/v1beta/models/{MODEL}:generateContent");
    let q = json!([{"role": "user", "parts": [{"text": "q"}]}]);
    let (status, v) =
        s.post_json(&path, &json!({"cachedContent": cache["name"], "contents": q, "tools": []}).to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("can not be used with GenerateContent request setting"));
    let other = "/v1beta/models/gemini-2.5-flash-lite:generateContent";
    let (status, v) = s.post_json(other, &json!({"cachedContent": cache["name"], "contents": q}).to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().ends_with("has to be the same!"), "{v}");
    let (status, v) =
        s.post_json(&path, &json!({"cachedContent": "cachedContents/nope", "contents": q}).to_string()).await;
    assert_eq!((status, v["error"]["message"].as_str()), (403, Some("CachedContent not found (or permission denied)")));
}
