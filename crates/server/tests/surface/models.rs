//! models.list (with paging, as every SDK pages) and models.get.

use crate::harness::{TestServer, TEST_CONTEXT, TEST_OUTPUT_LIMIT};

#[tokio::test]
async fn list_pages_through_every_model() {
    let s = TestServer::scripted().await;
    let (status, all) = s.get_json("/v1beta/models").await;
    assert_eq!(status, 200);
    let all: Vec<String> =
        all["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    assert!(all.contains(&"models/gemini-2.5-flash".to_string()));
    assert!(all.contains(&"models/gemma-3-27b-it".to_string()));

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (status, page) = s.get_json(&format!("/v1beta/models?pageSize=3&pageToken={token}")).await;
        assert_eq!(status, 200);
        let models = page["models"].as_array().unwrap();
        assert!(models.len() <= 3);
        seen.extend(models.iter().map(|m| m["name"].as_str().unwrap().to_string()));
        match page["nextPageToken"].as_str() {
            Some(t) => token = t.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let (status, _) = s.get_json("/v1beta/models?pageToken=garbage").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn get_reports_honest_limits_and_methods() {
    let s = TestServer::scripted().await;
    let (status, m) = s.get_json("/v1/models/gemini-2.5-flash").await;
    assert_eq!(status, 200);
    assert_eq!(m["name"], "models/gemini-2.5-flash");
    assert_eq!(m["inputTokenLimit"], TEST_CONTEXT - 1);
    assert_eq!(m["outputTokenLimit"], TEST_OUTPUT_LIMIT);
    assert_eq!(m["supportedGenerationMethods"], serde_json::json!(["generateContent", "countTokens"]));
    let (status, m) = s.get_json("/v1beta/models/models%2Fgemma-3-27b-instruct").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["name"], "models/gemma-3-27b-it");
}

#[tokio::test]
async fn guide_spelling_of_gemma_is_served_and_echoed() {
    let s = TestServer::scripted().await;
    let (status, v) = s
        .post_json(
            "/v1beta/models/gemma-3-27b-instruct:generateContent",
            r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":3}}"#,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["modelVersion"], "gemma-3-27b-instruct");
}
