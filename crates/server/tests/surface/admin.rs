//! The admin API the console uses: sign-in, projects and keys end to end (a created key works
//! on the public API, a revoked one stops working), the live quota numbers after real
//! requests and 429s, the playground charged to its project, and embeddings counted against
//! the embedding model's quota.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer, ADMIN_TOKEN};
use gemd_server::QuotaTable;

const BODY: &str = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;

async fn scripted(quotas: QuotaTable) -> TestServer {
    TestServer::with_engine_and_quotas(Arc::new(ScriptedEngine::text_then_done(&["Hel", "lo"])), quotas).await
}

/// An admin call with `credential` as the bearer (none: no header).
async fn admin(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    credential: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s.http.request(method, format!("{}{path}", s.base));
    if let Some(c) = credential {
        req = req.bearer_auth(c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

async fn sign_in(s: &TestServer) -> String {
    let (status, v) =
        admin(s, reqwest::Method::POST, "/admin/v1/sessions", None, Some(json!({"token": ADMIN_TOKEN}))).await;
    assert_eq!(status, 200, "{v}");
    v["session"].as_str().expect("a session").to_string()
}

/// A native call with `key` in `x-goog-api-key`.
async fn call_with_key(s: &TestServer, key: &str, model: &str) -> (u16, Value) {
    let resp = s
        .http
        .post(format!("{}/v1beta/models/{model}:generateContent", s.base))
        .header("x-goog-api-key", key)
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .expect("sent");
    (resp.status().as_u16(), resp.json().await.expect("JSON"))
}

#[tokio::test]
async fn nothing_works_without_the_admin_credential() {
    let s = scripted(QuotaTable::unlimited()).await;
    let (status, v) =
        admin(&s, reqwest::Method::POST, "/admin/v1/sessions", None, Some(json!({"token": "wrong"}))).await;
    assert_eq!((status, v["error"]["status"].as_str()), (401, Some("UNAUTHENTICATED")), "{v}");
    for (credential, why) in [
        (None, "no header"),
        (Some("wrong"), "a wrong token"),
        (Some(crate::harness::KEY), "an API key is not an admin credential"),
    ] {
        let (status, v) = admin(&s, reqwest::Method::GET, "/admin/v1/projects", credential, None).await;
        assert_eq!((status, v["error"]["status"].as_str()), (401, Some("UNAUTHENTICATED")), "{why}: {v}");
    }
    let (status, _) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/v1/projects/default/models/gemini-2.5-flash:generateContent",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 401, "the playground needs a sign-in too");

    let session = sign_in(&s).await;
    assert!(!session.contains(ADMIN_TOKEN), "the session does not carry the token");
    let (status, v) = admin(&s, reqwest::Method::GET, "/admin/v1/projects", Some(&session), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["projects"][0]["id"], "default");
    let (status, _) = admin(&s, reqwest::Method::GET, "/admin/v1/projects", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 200, "scripts may use the admin token directly");
}

#[tokio::test]
async fn a_key_created_in_the_console_works_until_it_is_revoked() {
    let s = scripted(QuotaTable::unlimited()).await;
    let session = sign_in(&s).await;
    let auth = Some(session.as_str());
    let (status, project) =
        admin(&s, reqwest::Method::POST, "/admin/v1/projects", auth, Some(json!({"displayName": "Demo"}))).await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(
        (project["displayName"].as_str(), project["tier"].as_str(), project["loggingOptOut"].as_bool()),
        (Some("Demo"), Some("free"), Some(false))
    );
    let id = project["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("gen-lang-client-"), "{id}");

    let (status, created) = admin(
        &s,
        reqwest::Method::POST,
        &format!("/admin/v1/projects/{id}/keys"),
        auth,
        Some(json!({"displayName": "laptop"})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("AIza") && secret.len() == 39, "{secret}");
    assert_eq!(created["key"]["prefix"].as_str(), Some(&secret[..8]));
    assert_eq!(created["key"]["lastUseTime"], Value::Null);

    let (status, v) = call_with_key(&s, &secret, "gemini-2.5-flash").await;
    assert_eq!(status, 200, "{v}");
    let (_, keys) = admin(&s, reqwest::Method::GET, &format!("/admin/v1/projects/{id}/keys"), auth, None).await;
    assert!(!keys.to_string().contains(&secret), "listings never show the secret");
    let key = &keys["keys"][0];
    assert!(key["lastUseTime"].is_string(), "{key}");
    assert_eq!(key["revoked"], false);

    let key_id = key["id"].as_str().unwrap();
    let (status, revoked) =
        admin(&s, reqwest::Method::POST, &format!("/admin/v1/keys/{key_id}:revoke"), auth, None).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked"], true);
    assert!(revoked["revokeTime"].is_string());
    let (status, v) = call_with_key(&s, &secret, "gemini-2.5-flash").await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");

    let (status, v) = admin(
        &s,
        reqwest::Method::PATCH,
        &format!("/admin/v1/projects/{id}"),
        auth,
        Some(json!({"tier": "tier1", "loggingOptOut": true})),
    )
    .await;
    assert_eq!((status, v["tier"].as_str(), v["loggingOptOut"].as_bool()), (200, Some("tier1"), Some(true)), "{v}");
    let (status, v) =
        admin(&s, reqwest::Method::PATCH, &format!("/admin/v1/projects/{id}"), auth, Some(json!({"tier": "gold"})))
            .await;
    assert_eq!((status, v["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{v}");
    let (status, v) =
        admin(&s, reqwest::Method::PATCH, &format!("/admin/v1/projects/{id}"), auth, Some(json!({"colour": "red"})))
            .await;
    assert_eq!(status, 400, "unknown fields are refused: {v}");
    let (status, v) = admin(&s, reqwest::Method::POST, "/admin/v1/projects/nope/keys", auth, Some(json!({}))).await;
    assert_eq!((status, v["error"]["status"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    let (status, _) = admin(&s, reqwest::Method::POST, "/admin/v1/keys/nope:revoke", auth, None).await;
    assert_eq!(status, 404);
    let (status, _) = admin(&s, reqwest::Method::POST, &format!("/admin/v1/keys/{key_id}:delete"), auth, None).await;
    assert_eq!(status, 404, "unknown key methods");
}

/// Polls until the ledger (written when a request ends) shows `n` requests this hour.
async fn hourly_requests(s: &TestServer, auth: &str, project: &str, n: i64) -> Value {
    for _ in 0..50 {
        let (status, v) =
            admin(s, reqwest::Method::GET, &format!("/admin/v1/projects/{project}/usage/hourly"), Some(auth), None)
                .await;
        assert_eq!(status, 200, "{v}");
        if v["hours"][23]["requests"].as_i64() == Some(n) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the ledger never showed {n} requests this hour");
}

#[tokio::test]
async fn the_dashboard_shows_live_use_and_recent_429s() {
    let s = scripted(QuotaTable::default()).await;
    let session = sign_in(&s).await;
    let auth = Some(session.as_str());
    // gemini-2.5-pro: 2 requests per minute on the free tier.
    for _ in 0..2 {
        assert_eq!(s.post("/v1beta/models/gemini-2.5-pro:generateContent", BODY).await.status(), 200);
    }
    assert_eq!(s.post("/v1beta/models/gemini-2.5-pro:generateContent", BODY).await.status(), 429);

    let (status, q) = admin(&s, reqwest::Method::GET, "/admin/v1/projects/default/quota", auth, None).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["tier"], "free");
    let pro = q["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "gemini-2.5-pro")
        .expect("gemini-2.5-pro listed")
        .clone();
    assert_eq!(pro["limits"], json!({"rpm": 2, "tpm": 32000, "rpd": 50}));
    assert_eq!(pro["used"]["requestsThisMinute"], 2, "the refused request consumed nothing");
    assert_eq!(pro["used"]["requestsToday"], 2);
    let (_, counted) = s.post_json("/v1beta/models/gemini-2.5-pro:countTokens", BODY).await;
    let prompt_tokens = counted["totalTokens"].as_u64().unwrap();
    assert_eq!(pro["used"]["tokensThisMinute"].as_u64(), Some(2 * prompt_tokens), "the tokenizer's count, twice");
    let paid_only =
        q["models"].as_array().unwrap().iter().find(|m| m["model"] == "gemini-3-pro-preview").expect("listed");
    assert_eq!(paid_only["limits"]["rpm"], 0, "not available on the free tier");
    assert!(
        q["models"].as_array().unwrap().iter().any(|m| m["model"] == "gemini-embedding-001"),
        "embedding quotas are shown too"
    );
    let reset = q["dayResetTime"].as_str().unwrap();
    assert!(reset > q["now"].as_str().unwrap(), "{reset}");
    assert!(reset.ends_with(":00:00.000Z"), "Pacific midnight is a whole hour in UTC: {reset}");

    // The refusal is recorded in the background; wait for it.
    let mut refusals = Value::Null;
    for _ in 0..50 {
        let (_, q) = admin(&s, reqwest::Method::GET, "/admin/v1/projects/default/quota", auth, None).await;
        refusals = q["recentRefusals"].clone();
        if refusals.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(refusals[0]["model"], "gemini-2.5-pro", "{refusals}");
    assert_eq!(refusals[0]["metrics"], json!(["requests per minute"]));
    assert!(refusals[0]["retryDelaySeconds"].as_f64().unwrap() > 0.0);

    let hours = hourly_requests(&s, &session, "default", 2).await;
    assert_eq!(hours["hours"].as_array().unwrap().len(), 24);
    assert_eq!(hours["hours"][23]["promptTokens"].as_u64(), Some(2 * prompt_tokens));
    assert_eq!(hours["hours"][23]["candidateTokens"], 4);
}

#[tokio::test]
async fn the_playground_answers_like_the_native_api_and_charges_the_project() {
    let s = scripted(QuotaTable::default()).await;
    let session = sign_in(&s).await;
    let resp = s
        .http
        .post(format!("{}/admin/v1/projects/default/models/gemini-2.5-pro:streamGenerateContent?alt=sse", s.base))
        .bearer_auth(&session)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    let frames: Vec<Value> = text
        .split("\r\n\r\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    let answer: String =
        frames.iter().filter_map(|f| f["candidates"][0]["content"]["parts"][0]["text"].as_str()).collect();
    assert_eq!(answer, "Hello");

    let (status, v) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/v1/projects/default/models/gemini-2.5-pro:generateContent",
        Some(&session),
        Some(json!({"contents": [{"parts": [{"text": "hi"}]}]})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // Two requests of 2 RPM used: the playground's third is the real 429, with its header.
    let resp = s
        .http
        .post(format!("{}/admin/v1/projects/default/models/gemini-2.5-pro:generateContent", s.base))
        .bearer_auth(&session)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // …and so is a call with the project's key: the playground spent the project's quota.
    assert_eq!(s.post("/v1beta/models/gemini-2.5-pro:generateContent", BODY).await.status(), 429);
    let (status, _) = admin(
        &s,
        reqwest::Method::POST,
        "/admin/v1/projects/nope/models/gemini-2.5-pro:generateContent",
        Some(&session),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn embeddings_count_against_the_embedding_models_quota() {
    let mut quotas = QuotaTable::unlimited();
    quotas.set(
        gemd_store::Tier::Free,
        "gemini-embedding-001",
        gemd_quota::Limits { rpm: Some(2), tpm: None, rpd: None },
    );
    let s = scripted(quotas).await;
    let batch = r#"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]}},{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]}}]}"#;
    assert_eq!(
        s.post("/v1beta/models/gemini-embedding-001:batchEmbedContents", batch).await.status(),
        200,
        "a batch is one request"
    );
    assert_eq!(
        s.post("/v1beta/models/gemini-embedding-001:embedContent", r#"{"content":{"parts":[{"text":"a"}]}}"#)
            .await
            .status(),
        200
    );
    let (status, v) = s
        .post_json("/v1beta/models/gemini-embedding-001:embedContent", r#"{"content":{"parts":[{"text":"a"}]}}"#)
        .await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(
        v["error"]["details"][1]["violations"][0]["quotaId"],
        "EmbedContentRequestsPerMinutePerProjectPerModel-FreeTier"
    );
    // The OpenAI layer's embeddings are the same requests against the same limit.
    let resp = s
        .http
        .post(format!("{}/v1beta/openai/embeddings", s.base))
        .bearer_auth(crate::harness::KEY)
        .json(&json!({"model": "gemini-embedding-001", "input": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // Other models are untouched, and counting tokens is not an embedding request.
    assert_eq!(
        s.post("/v1beta/models/text-embedding-004:embedContent", r#"{"content":{"parts":[{"text":"a"}]}}"#)
            .await
            .status(),
        200
    );
    assert_eq!(
        s.post("/v1beta/models/gemini-embedding-001:countTokens", r#"{"contents":[{"parts":[{"text":"a"}]}]}"#)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_console_lists_a_projects_files_and_deletes_one() {
    let s = scripted(QuotaTable::unlimited()).await;
    let session = sign_in(&s).await;
    let auth = Some(session.as_str());
    let (_, project) =
        admin(&s, reqwest::Method::POST, "/admin/v1/projects", auth, Some(json!({"displayName": "Files"}))).await;
    let id = project["id"].as_str().unwrap().to_string();
    let (_, created) =
        admin(&s, reqwest::Method::POST, &format!("/admin/v1/projects/{id}/keys"), auth, Some(json!({}))).await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let upload = s
        .http
        .post(format!("{}/upload/v1beta/files?uploadType=media", s.base))
        .header("x-goog-api-key", &secret)
        .header("content-type", "text/plain")
        .body("twelve bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
    let name = upload.json::<Value>().await.unwrap()["file"]["name"].as_str().unwrap().to_string();

    let path = format!("/admin/v1/projects/{id}/files");
    let (status, v) = admin(&s, reqwest::Method::GET, &path, None, None).await;
    assert_eq!(status, 401, "the admin credential is needed: {v}");
    let (status, v) = admin(&s, reqwest::Method::GET, &path, auth, None).await;
    assert_eq!(status, 200, "{v}");
    let file = &v["files"][0];
    assert_eq!((file["name"].as_str(), file["sizeBytes"].as_i64()), (Some(name.as_str()), Some(12)));
    assert!(file["expirationTime"].is_string() && file["state"] == "ACTIVE", "{file}");
    assert_eq!(v["totalBytes"], 12);

    let (status, v) = admin(&s, reqwest::Method::DELETE, &format!("{path}/{name}"), auth, None).await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = admin(&s, reqwest::Method::GET, &path, auth, None).await;
    assert_eq!(v["files"], json!([]));
    let (status, _) = admin(&s, reqwest::Method::GET, "/admin/v1/projects/nope/files", auth, None).await;
    assert_eq!(status, 404);
}
