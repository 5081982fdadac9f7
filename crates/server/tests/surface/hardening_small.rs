//! The small hardening items of issue 15, over real HTTP: numeric limits (`dimensions`,
//! `outputDimensionality`, `maxOutputTokens` and the OpenAI output caps) refused by name instead
//! of clamped or ignored; one API key per request wherever it is put; answers carrying a secret
//! never cached; and wrong admin tokens throttled. A scripted engine answers and a scripted
//! embedder embeds (the point is the wire).

use std::sync::{Arc, Mutex};

use gemd_engine::{Engine, EngineError, EventStream, PreparedPrompt, SamplingParams};
use reqwest::header::HeaderValue;
use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer, ADMIN_TOKEN, KEY, TEST_OUTPUT_LIMIT};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const CHAT: &str = "/v1beta/openai/chat/completions";
const EMBED: &str = "/v1beta/openai/embeddings";

/// A scripted engine that records the output cap of every generation it is asked for.
struct Recording {
    inner: ScriptedEngine,
    caps: Mutex<Vec<u32>>,
}

impl Recording {
    fn with_context(context: u32) -> Arc<Self> {
        let mut inner = ScriptedEngine::text_then_done(&["ok"]);
        inner.info.context_per_sequence = context;
        Arc::new(Recording { inner, caps: Mutex::new(Vec::new()) })
    }
}

impl Engine for Recording {
    crate::harness::delegate_to_inner!();
    fn generate(&self, prompt: PreparedPrompt, params: SamplingParams) -> Result<EventStream, EngineError> {
        self.caps.lock().unwrap().push(params.max_output_tokens);
        self.inner.generate(prompt, params)
    }
}

async fn scripted() -> TestServer {
    TestServer::with_engine(Arc::new(ScriptedEngine::text_then_done(&["ok"]))).await
}

fn generate_body(generation_config: &str) -> String {
    format!(r#"{{"contents":[{{"parts":[{{"text":"hi"}}]}}],"generationConfig":{generation_config}}}"#)
}

/// The one error of an OpenAI-layer answer (`[{"error": …}]`).
fn layer_error(v: &Value) -> &Value {
    let list = v.as_array().unwrap_or_else(|| panic!("the layer's errors are arrays: {v}"));
    assert_eq!(list.len(), 1, "{v}");
    &list[0]["error"]
}

fn field_of(error: &Value) -> &str {
    error["details"][0]["fieldViolations"][0]["field"].as_str().unwrap_or_else(|| panic!("no field violation: {error}"))
}

// ---------- numeric limits ----------

#[tokio::test]
async fn openai_dimensions_below_one_or_beyond_an_integer_are_refused_by_name() {
    let s = scripted().await;
    for dimensions in [json!(-5), json!(0), json!(1e12), json!(1_000_000_000_000i64)] {
        let body = json!({"model": "text-embedding-004", "input": "x", "dimensions": dimensions});
        let resp = s.http.post(format!("{}{EMBED}", s.base)).bearer_auth(KEY).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "dimensions {dimensions}");
        let v: Value = resp.json().await.unwrap();
        let e = layer_error(&v);
        assert_eq!(e["status"], "INVALID_ARGUMENT", "{e}");
        assert_eq!(field_of(e), "dimensions", "dimensions {dimensions}: {e}");
    }
}

#[tokio::test]
async fn native_output_dimensionality_negative_too_large_or_not_int32_is_refused_and_zero_is_unset() {
    let s = scripted().await;
    let path = "/v1beta/models/gemini-embedding-001:embedContent";
    for (dimensionality, fault) in
        [(json!(-1), "must be positive"), (json!(385), "at most 384"), (json!(1e12), "(TYPE_INT32)")]
    {
        let (status, v) = s
            .post_json(
                path,
                &json!({"content": {"parts": [{"text": "x"}]}, "outputDimensionality": dimensionality}).to_string(),
            )
            .await;
        assert_eq!(status, 400, "{dimensionality}: {v}");
        assert!(field_of(&v["error"]).ends_with("output_dimensionality"), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(fault), "{dimensionality}: {v}");
    }
    let (status, v) =
        s.post_json(path, &json!({"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 0}).to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["embedding"]["values"].as_array().unwrap().len(), 384, "0 reads as unset");
}

#[tokio::test]
async fn an_output_cap_above_the_models_limit_is_refused_in_googles_words() {
    let s = scripted().await;
    // gemini-2.5-flash's limit on the real service (the catalog's), not the test server's
    // lower configured cap: values between the two are lowered, not refused.
    let over = 8193;
    let (status, v) = s.post_json(GEN, &generate_body(&format!(r#"{{"maxOutputTokens":{over}}}"#))).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    let expected = format!(
        "Unable to submit request because it has a maxOutputTokens value of {over} but the supported range is from 1 (inclusive) to {over} (exclusive). Update the value and try again."
    );
    assert_eq!(v["error"]["message"], expected.as_str());
    assert_eq!(field_of(&v["error"]), "generation_config.max_output_tokens");
    let (status, v) = s.post_json(GEN, &generate_body(r#"{"maxOutputTokens":8192}"#)).await;
    assert_eq!(status, 200, "the limit itself is allowed: {v}");
    let (status, v) =
        s.post_json(GEN, &generate_body(&format!(r#"{{"maxOutputTokens":{}}}"#, TEST_OUTPUT_LIMIT + 1))).await;
    assert_eq!(status, 200, "above the configured cap, within the real limit: lowered: {v}");
    let (status, v) = s.post_json(GEN, &generate_body(r#"{"maxOutputTokens":0}"#)).await;
    assert_eq!((status, field_of(&v["error"])), (400, "generation_config.max_output_tokens"), "{v}");
    // Streams are refused before their first byte, the same way.
    let resp = s
        .post(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            &generate_body(r#"{"maxOutputTokens":100000}"#),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn an_output_cap_that_is_not_an_int32_is_refused_by_the_parser() {
    let s = scripted().await;
    for cap in ["1e12", "2147483648", "\"99999999999\""] {
        let (status, v) = s.post_json(GEN, &generate_body(&format!(r#"{{"maxOutputTokens":{cap}}}"#))).await;
        assert_eq!(status, 400, "{cap}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32)"),
            "{cap}: {message}"
        );
        assert_eq!(field_of(&v["error"]), "generation_config.max_output_tokens");
    }
    let (status, v) = s.post_json(GEN, &generate_body(r#"{"topK":1e10}"#)).await;
    assert_eq!((status, field_of(&v["error"])), (400, "generation_config.top_k"), "every int32 field: {v}");
}

#[tokio::test]
async fn openai_output_caps_above_the_models_limit_are_refused_by_their_own_name() {
    let s = scripted().await;
    for (name, value) in [("max_tokens", json!(100000)), ("max_completion_tokens", json!(1_000_000_000_000i64))] {
        let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}], name: value});
        let resp = s.http.post(format!("{}{CHAT}", s.base)).bearer_auth(KEY).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{name}");
        let v: Value = resp.json().await.unwrap();
        let e = layer_error(&v);
        assert_eq!(field_of(e), name, "{e}");
        assert!(e["message"].as_str().unwrap().contains("supported range is from 1 (inclusive)"), "{e}");
    }
}

#[tokio::test]
async fn a_cap_the_real_model_takes_but_this_backend_cannot_write_is_lowered_to_what_it_can() {
    // The id's limit is 40 (as the real service's would be); the backend's context is 16.
    let engine = Recording::with_context(16);
    let s = TestServer::with_engine_and_output_limit(engine.clone(), 40).await;
    let (status, v) = s.post_json(GEN, &generate_body(r#"{"maxOutputTokens":30}"#)).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.post_json(GEN, &generate_body(r#"{"maxOutputTokens":8}"#)).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.post_json(GEN, &generate_body("{}")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        *engine.caps.lock().unwrap(),
        [16, 8, 16],
        "capped at the backend, as asked below it, the backend's when absent"
    );
    let (_, model) = s.get_json("/v1beta/models/gemini-2.5-flash").await;
    assert_eq!(model["outputTokenLimit"], 16, "the listing says what this server can write");
}

// ---------- one API key per request ----------

/// `GET /v1beta/models` with `headers` and `query`: the status and the body.
async fn list_models(s: &TestServer, query: &str, headers: &[(&str, HeaderValue)]) -> (u16, Value) {
    let mut req = s.http.get(format!("{}/v1beta/models{query}", s.base));
    for (name, value) in headers {
        req = req.header(*name, value.clone());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap()
}

fn is_two_keys(status: u16, v: &Value) -> bool {
    status == 400
        && v["error"]["status"] == "INVALID_ARGUMENT"
        && v["error"]["message"].as_str().is_some_and(|m| m.contains("more than one API key"))
}

#[tokio::test]
async fn two_different_keys_are_refused_wherever_they_are_and_copies_of_one_pass() {
    let s = scripted().await;
    const OTHER: &str = "AIzaSyNotAValidKeyForThisServer0000000";
    let h = "x-goog-api-key";
    let (status, v) = list_models(&s, "", &[(h, header(KEY)), (h, header(OTHER))]).await;
    assert!(is_two_keys(status, &v), "header vs header: {status} {v}");
    let (status, v) = list_models(&s, &format!("?key={OTHER}&key={KEY}"), &[]).await;
    assert!(is_two_keys(status, &v), "param vs param: {status} {v}");
    let (status, v) = list_models(&s, &format!("?key={OTHER}"), &[(h, header(KEY))]).await;
    assert!(is_two_keys(status, &v), "header vs param: {status} {v}");
    let (status, v) = list_models(&s, &format!("?%24key={OTHER}"), &[(h, header(KEY))]).await;
    assert!(is_two_keys(status, &v), "$key is the same parameter: {status} {v}");
    for (query, headers, what) in [
        (format!("?key={KEY}"), vec![(h, header(KEY))], "header and param, the same key"),
        (String::new(), vec![(h, header(KEY)), (h, header(KEY))], "the same header twice"),
        (format!("?key={KEY}&key={KEY}"), vec![], "the same param twice"),
        (format!("?%24key={KEY}"), vec![], "$key alone"),
    ] {
        let (status, v) = list_models(&s, &query, &headers).await;
        assert_eq!(status, 200, "{what}: {v}");
    }
    // The OpenAI layer: the bearer is one more place, under the same rule.
    let resp =
        s.http.get(format!("{}/v1beta/openai/models", s.base)).bearer_auth(KEY).header(h, OTHER).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(layer_error(&v)["message"].as_str().unwrap().contains("more than one API key"), "{v}");
}

#[tokio::test]
async fn a_key_header_that_is_not_ascii_is_an_invalid_key_not_a_missing_one() {
    let s = scripted().await;
    let not_ascii = HeaderValue::from_bytes("AIzaSyé-not-ascii".as_bytes()).unwrap();
    let (status, v) = list_models(&s, "", &[("x-goog-api-key", not_ascii)]).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID", "{v}");
}

// ---------- secrets are never cached ----------

async fn sign_in(s: &TestServer, token: &str) -> reqwest::Response {
    s.http.post(format!("{}/admin/v1/sessions", s.base)).json(&json!({"token": token})).send().await.unwrap()
}

#[tokio::test]
async fn answers_that_carry_a_secret_are_not_stored_by_caches() {
    let s = scripted().await;
    let resp = sign_in(&s, ADMIN_TOKEN).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers().get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "the session answer"
    );
    let session = resp.json::<Value>().await.unwrap()["session"].as_str().unwrap().to_string();
    let resp = s
        .http
        .post(format!("{}/admin/v1/projects/default/keys", s.base))
        .bearer_auth(&session)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers().get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "the new key's answer"
    );
    assert!(resp.json::<Value>().await.unwrap()["secret"].is_string());
}

// ---------- wrong admin tokens are throttled ----------

#[tokio::test]
async fn after_the_burst_of_wrong_tokens_the_next_attempt_is_refused_429_but_sessions_still_work() {
    let s = scripted().await;
    let burst = gemd_server::SignInLimits::default().per_client_burst;
    let session =
        sign_in(&s, ADMIN_TOKEN).await.json::<Value>().await.unwrap()["session"].as_str().unwrap().to_string();
    let mut refused = 0;
    for _ in 0..burst {
        let resp = sign_in(&s, "a-wrong-guess").await;
        refused += u32::from(resp.status().as_u16() == 401);
    }
    assert_eq!(refused, burst, "each wrong token within the burst is a plain 401");
    for (what, resp) in [
        ("the right token at sign-in", sign_in(&s, ADMIN_TOKEN).await),
        (
            "the right token as a bearer",
            s.http.get(format!("{}/admin/v1/projects", s.base)).bearer_auth(ADMIN_TOKEN).send().await.unwrap(),
        ),
        ("another wrong one", sign_in(&s, "another-guess").await),
    ] {
        assert_eq!(resp.status().as_u16(), 429, "{what}");
        assert!(resp.headers().get("retry-after").is_some(), "{what} says when to retry");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED", "{what}: {v}");
    }
    let resp = s.http.get(format!("{}/admin/v1/projects", s.base)).bearer_auth(&session).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "a session signed in before is never throttled");
}
