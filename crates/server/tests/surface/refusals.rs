//! Requests the engine refuses are not charged: a 503 (overloaded) or a failure before any
//! output takes no RPM, TPM or RPD and writes no ledger row, whichever surface asked; a
//! request that produced output before failing is charged what it produced. (That a burst
//! into free batch slots is served, not refused, needs the real scheduler: http/batching.rs.)

use std::sync::Arc;
use std::time::Duration;

use gemd_engine::{EngineError, Event};
use gemd_quota::Limits;
use gemd_server::QuotaTable;
use gemd_server::DEFAULT_PROJECT;
use gemd_store::Tier;
use serde_json::json;

use crate::harness::{ScriptedEngine, TestServer};

const MODEL: &str = "gemini-2.0-flash";
const GEN: &str = "/v1beta/models/gemini-2.0-flash:generateContent";
const SSE: &str = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse";
const OPENAI: &str = "/v1beta/openai/chat/completions";
const BODY: &str = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;

fn tight_quota() -> QuotaTable {
    let mut q = QuotaTable::unlimited();
    q.set(Tier::Free, MODEL, Limits { rpm: Some(3), tpm: Some(1000), rpd: Some(3) });
    q
}

/// Sends `n` requests spread over the three surfaces; returns their statuses.
async fn send(s: &TestServer, n: usize) -> Vec<u16> {
    let openai = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let mut statuses = Vec::new();
    for i in 0..n {
        let r = match i % 3 {
            0 => s.post(GEN, BODY).await,
            1 => s.post(SSE, BODY).await,
            _ => s.post(OPENAI, &openai).await,
        };
        statuses.push(r.status().as_u16());
        let _ = r.text().await;
    }
    statuses
}

/// (requests this minute, requests today) in the limiter, and requests in the ledger.
async fn charged(s: &TestServer) -> (u64, u64, i64) {
    // Ledger rows and refunds are written by spawned tasks; give them a moment to land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let u = s.access.limiter.usage(DEFAULT_PROJECT, MODEL).await.expect("usage");
    let rows = s.access.store.usage(Some(DEFAULT_PROJECT), None).await.expect("ledger");
    (u.requests_this_minute, u.requests_today, rows.iter().filter(|r| r.model == MODEL).map(|r| r.requests).sum())
}

#[tokio::test]
async fn overloaded_refusals_take_no_quota_and_write_no_ledger_row() {
    let mut engine = ScriptedEngine::text_then_done(&["Hi"]);
    engine.refuse = Some(EngineError::Overloaded);
    let s = TestServer::with_engine_and_quotas(Arc::new(engine), tight_quota()).await;
    // Twice the limit: had refusals been charged, the fourth would be a 429.
    assert_eq!(send(&s, 6).await, vec![503; 6]);
    assert_eq!(charged(&s).await, (0, 0, 0));
}

#[tokio::test]
async fn a_failure_before_any_output_is_refunded_and_one_after_output_is_charged() {
    let before = ScriptedEngine::new(vec![Event::Failed(EngineError::Overloaded)]);
    let s = TestServer::with_engine_and_quotas(Arc::new(before), tight_quota()).await;
    assert_eq!(send(&s, 6).await, vec![503; 6]);
    assert_eq!(charged(&s).await, (0, 0, 0));

    let after = ScriptedEngine::new(vec![
        Event::Text { text: "Hel".into(), output_tokens: 1 },
        Event::Failed(EngineError::Internal("the engine thread died".into())),
    ]);
    let s = TestServer::with_engine_and_quotas(Arc::new(after), tight_quota()).await;
    // A stream that has started answers 200 and reports the failure in its body.
    let r = s.post(SSE, BODY).await;
    assert_eq!(r.status(), 200);
    let _ = r.text().await;
    assert_eq!(charged(&s).await, (1, 1, 1), "output was produced: the request ran");
}

#[tokio::test]
async fn served_requests_are_still_charged() {
    let s = TestServer::with_engine_and_quotas(Arc::new(ScriptedEngine::text_then_done(&["Hi"])), tight_quota()).await;
    assert_eq!(send(&s, 4).await, vec![200, 200, 200, 429]);
    assert_eq!(charged(&s).await, (3, 3, 3));
}
