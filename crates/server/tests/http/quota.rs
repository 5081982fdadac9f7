//! Google's quota model through HTTP on the real model: a tokens-per-minute limit counts the
//! prompt tokens the model's tokenizer counts. (Request limits and the 429 body:
//! tests/surface/quota.rs.)

use crate::harness::{real_engine, TestServer};
use gemd_server::QuotaTable;

const BODY: &str = r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1}}"#;
const COUNT: &str = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;

#[tokio::test]
async fn token_limits_count_real_prompt_tokens() {
    let mut table = QuotaTable::default();
    table.set(gemd_store::Tier::Free, "gemini-2.5-flash", gemd_quota::Limits { rpm: None, tpm: Some(40), rpd: None });
    let s = TestServer::with_engine_and_quotas(real_engine(), table).await;
    let (_, counted) = s.post_json("/v1beta/models/gemini-2.5-flash:countTokens", COUNT).await;
    let per_request = counted["totalTokens"].as_u64().unwrap();
    let fits = 40 / per_request;
    for _ in 0..fits {
        assert_eq!(s.post("/v1beta/models/gemini-2.5-flash:generateContent", BODY).await.status(), 200);
    }
    let (status, v) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", BODY).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(
        v["error"]["details"][1]["violations"][0]["quotaId"],
        "GenerateContentInputTokensPerModelPerMinute-FreeTier"
    );
}
