//! Google's quota model through HTTP: the 16th request in a minute to gemini-2.5-flash on the
//! free tier gets the real 429 body; paid-only models say limit 0; countTokens counts against
//! its own quota. (Token limits counting the real model's prompt tokens: http/quota.rs.)

use std::sync::Arc;

use serde_json::{json, Value};

use crate::harness::{test_engine, ScriptedEngine, TestServer};
use crate::shared::native::text_body;
use gemd_server::QuotaTable;

const BODY: &str = r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1}}"#;
const COUNT: &str = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;
const FLASH: &str = "/v1beta/models/gemini-2.5-flash";

#[tokio::test]
async fn the_sixteenth_request_in_a_minute_gets_the_real_429() {
    let s = TestServer::with_engine_and_quotas(test_engine(), QuotaTable::default()).await;
    let started = std::time::Instant::now();
    for i in 0..15 {
        // Streaming and unary requests count the same.
        let path = if i % 2 == 0 {
            "/v1beta/models/gemini-2.5-flash:generateContent"
        } else {
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        };
        let r = s.post(path, BODY).await;
        assert_eq!(r.status(), 200, "request {i}");
        let _ = r.text().await;
    }
    // countTokens and models calls are not generate requests.
    assert_eq!(s.post("/v1beta/models/gemini-2.5-flash:countTokens", COUNT).await.status(), 200);
    assert_eq!(s.get_json("/v1beta/models/gemini-2.5-flash").await.0, 200);

    let r = s.post("/v1beta/models/gemini-2.5-flash:generateContent", BODY).await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // The first request leaves the minute window 60 s after it was admitted: the wait is
    // what is left of that minute, however long the 15 requests took to answer.
    let spent = started.elapsed().as_secs();
    assert!(
        retry_after <= 60 && retry_after + spent + 1 >= 60,
        "retry after {retry_after} s, {spent} s after the first request"
    );
    let v: Value = r.json().await.unwrap();
    let e = &v["error"];
    assert_eq!((e["code"].as_u64(), e["status"].as_str()), (Some(429), Some("RESOURCE_EXHAUSTED")));
    let msg = e["message"].as_str().unwrap();
    assert!(msg.starts_with("You exceeded your current quota, please check your plan and billing details."), "{msg}");
    assert!(msg.contains("* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 15, model: gemini-2.5-flash"), "{msg}");
    assert!(msg.contains("\nPlease retry in "), "{msg}");
    assert_eq!(e["details"][0]["@type"], "type.googleapis.com/google.rpc.Help");
    let failure = &e["details"][1];
    assert_eq!(failure["@type"], "type.googleapis.com/google.rpc.QuotaFailure");
    assert_eq!(
        failure["violations"][0],
        json!({"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
               "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
               "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
               "quotaValue": "15"})
    );
    assert_eq!(e["details"][2]["@type"], "type.googleapis.com/google.rpc.RetryInfo");
    assert_eq!(e["details"][2]["retryDelay"], format!("{retry_after}s"));

    // Limits are per model: another model of the same project still answers.
    let r = s.post("/v1beta/models/gemini-2.0-flash:generateContent", BODY).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn paid_only_models_answer_limit_zero_on_the_free_tier() {
    let s = TestServer::with_engine_and_quotas(test_engine(), QuotaTable::default()).await;
    let (status, v) = s.post_json("/v1beta/models/gemini-3-pro-preview:generateContent", BODY).await;
    assert_eq!(status, 429);
    let violations = v["error"]["details"][1]["violations"].as_array().unwrap();
    assert!(violations.iter().all(|x| x["quotaValue"] == "0"), "{v}");
}

#[tokio::test]
async fn count_tokens_has_its_own_quota() {
    let mut quotas = QuotaTable::default();
    quotas.set(
        gemd_store::Tier::Free,
        "gemini-2.5-flash:countTokens",
        gemd_quota::Limits { rpm: Some(2), tpm: None, rpd: None },
    );
    quotas.set(
        gemd_store::Tier::Free,
        "text-embedding-004:countTokens",
        gemd_quota::Limits { rpm: Some(1), tpm: None, rpd: None },
    );
    let s = TestServer::with_engine_and_quotas(Arc::new(ScriptedEngine::text_then_done(&["ok"])), quotas).await;
    let body = text_body("hello there");
    for _ in 0..2 {
        assert_eq!(s.post(&format!("{FLASH}:countTokens"), &body).await.status(), 200);
    }
    let r = s.post(&format!("{FLASH}:countTokens"), &body).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    let e = &v["error"];
    assert_eq!((e["code"].as_u64(), e["status"].as_str()), (Some(429), Some("RESOURCE_EXHAUSTED")), "{v}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("* Quota exceeded for metric: generativelanguage.googleapis.com/count_tokens_free_tier_requests, limit: 2, model: gemini-2.5-flash"), "{message}");
    assert_eq!(
        e["details"][1]["violations"][0],
        json!({"quotaMetric": "generativelanguage.googleapis.com/count_tokens_free_tier_requests",
               "quotaId": "CountTokensRequestsPerMinutePerProjectPerModel-FreeTier",
               "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
               "quotaValue": "2"})
    );
    assert_eq!(e["details"][2]["@type"], "type.googleapis.com/google.rpc.RetryInfo");

    // Counting used none of generate's quota, and generating none of counting's.
    assert_eq!(s.post(&format!("{FLASH}:generateContent"), &body).await.status(), 200);
    assert_eq!(s.post(&format!("{FLASH}:countTokens"), &body).await.status(), 429);

    // Embedding models count against their own countTokens bucket too.
    let embed_count = "/v1beta/models/text-embedding-004:countTokens";
    assert_eq!(s.post(embed_count, &body).await.status(), 200);
    let (status, v) = s.post_json(embed_count, &body).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"]["details"][1]["violations"][0]["quotaDimensions"]["model"], "text-embedding-004");
}
