//! Tokenising cannot be made to cost a server more than the request is worth (issue 15,
//! item 2): countTokens of the newline-heavy text that used to take 47 s answers with the
//! right count; prompts far over the input limit are refused after reading only as much as
//! proves it; and a client that leaves stops the tokenising it started. (That countTokens
//! counts against its own quota: tests/surface/quota.rs.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gemd_engine::{
    ChatPrompt, Engine, EngineError, EngineMetrics, EventStream, PrepareBounds, PreparedPrompt, SamplingParams,
};
use serde_json::{json, Value};

use crate::harness::{engine_with, real_engine, ScriptedEngine, TestServer, TEST_CONTEXT};
use crate::shared::native::text_body;

const FLASH: &str = "/v1beta/models/gemini-2.5-flash";

async fn count(s: &TestServer, text: &str) -> u64 {
    let (status, v) = s.post_json(&format!("{FLASH}:countTokens"), &text_body(text)).await;
    assert_eq!(status, 200, "{v}");
    v["totalTokens"].as_u64().unwrap()
}

#[tokio::test]
async fn count_tokens_of_fifty_thousand_lines_answers_the_right_count() {
    let s = TestServer::real().await;
    let lines = |n: usize| "a\n".repeat(n);
    let (full, half, quarter) =
        (count(&s, &lines(50_000)).await, count(&s, &lines(25_000)).await, count(&s, &lines(12_500)).await);
    // Each "a\n" is two tokens; the template around the text is the same in every count.
    assert_eq!(full - half, 50_000);
    assert_eq!(half - quarter, 25_000);
}

/// The status, the error's `status` and its message.
async fn refusal(s: &TestServer, path: &str, body: String) -> (u16, String, String) {
    let (status, v) = s.post_json(path, &body).await;
    (
        status,
        v["error"]["status"].as_str().unwrap_or_default().to_string(),
        v["error"]["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn prompts_far_over_the_limit_are_refused_after_reading_little() {
    // Its own engine, so its counters are this test's alone.
    let engine = engine_with(|_| {});
    let s = TestServer::with_engine_and_body_limit(engine.clone(), 4 << 20).await;
    let limit = TEST_CONTEXT - 1;

    // 200,000 parts, joined with newlines into one text of 400,000 tokens.
    let parts: Vec<Value> = (0..200_000).map(|_| json!({"text": "a"})).collect();
    let body = json!({"contents": [{"parts": parts}]}).to_string();
    let (status, code, message) = refusal(&s, &format!("{FLASH}:generateContent"), body).await;
    assert_eq!((status, code.as_str()), (400, "INVALID_ARGUMENT"), "{message}");
    assert!(message.contains("at least") && message.contains(&format!("({limit})")), "{message}");

    // 100 KB of lines, short enough that its length proves nothing: about 100 pieces of
    // text make the prompt, and it is refused after the first few.
    let before = engine.metrics();
    let (status, code, message) =
        refusal(&s, &format!("{FLASH}:streamGenerateContent?alt=sse"), text_body(&"a\n".repeat(50_000))).await;
    assert_eq!((status, code.as_str()), (400, "INVALID_ARGUMENT"), "{message}");
    assert!(message.contains("at least"), "{message}");
    let after = engine.metrics();
    let read = after.tokenizer_chunks_total - before.tokenizer_chunks_total;
    assert!((1..=4).contains(&read), "{read} pieces read");
    assert_eq!(after.tokenizations_stopped_total - before.tokenizations_stopped_total, 1);

    // 3 MB of one word: its length alone proves it too long, so nothing is tokenised.
    let (status, _, message) = refusal(&s, &format!("{FLASH}:generateContent"), text_body(&"x".repeat(3 << 20))).await;
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("exceeds the maximum number of tokens allowed"), "{message}");
    assert_eq!(engine.metrics().tokenizer_chunks_total, after.tokenizer_chunks_total);

    // countTokens has no input limit: the same 200,000 parts are counted in full.
    let parts: Vec<Value> = (0..200_000).map(|_| json!({"text": "a"})).collect();
    let (status, v) =
        s.post_json(&format!("{FLASH}:countTokens"), &json!({"contents": [{"parts": parts}]}).to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["totalTokens"].as_u64().unwrap() >= 400_000, "{v}");
}

/// The real engine, except that tokenising waits until its caller cancels it, so a test can
/// leave in the middle of it and see that leaving reached the engine.
struct Stalling {
    inner: Arc<dyn Engine>,
    entered: AtomicU64,
    cancelled: AtomicU64,
}

impl Engine for Stalling {
    crate::harness::delegate_to_inner!();

    fn prepare_bounded(&self, prompt: &ChatPrompt, bounds: &PrepareBounds) -> Result<PreparedPrompt, EngineError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        for _ in 0..6_000 {
            if bounds.cancel.is_cancelled() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let result = self.inner.prepare_bounded(prompt, bounds);
        if matches!(result, Err(EngineError::Cancelled)) {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    fn generate(&self, prompt: PreparedPrompt, params: SamplingParams) -> Result<EventStream, EngineError> {
        self.inner.generate(prompt, params)
    }

    fn metrics(&self) -> EngineMetrics {
        self.inner.metrics()
    }
}

#[tokio::test]
async fn a_client_that_leaves_stops_its_tokenising() {
    let stalling =
        Arc::new(Stalling { inner: real_engine(), entered: AtomicU64::new(0), cancelled: AtomicU64::new(0) });
    let s = TestServer::with_engine(stalling.clone()).await;
    for path in [format!("{FLASH}:generateContent"), format!("{FLASH}:countTokens")] {
        let entered = stalling.entered.load(Ordering::SeqCst);
        let cancelled = stalling.cancelled.load(Ordering::SeqCst);
        let request = s
            .http
            .post(format!("{}{path}", s.base))
            .header("x-goog-api-key", crate::harness::KEY)
            .body(text_body(&"a\n".repeat(20_000)));
        let client = tokio::spawn(async move { request.send().await.map(|r| r.status()) });
        while stalling.entered.load(Ordering::SeqCst) == entered {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The client leaves while its prompt is being tokenised.
        client.abort();
        let mut waited = 0;
        while stalling.cancelled.load(Ordering::SeqCst) == cancelled && waited < 3_000 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(
            stalling.cancelled.load(Ordering::SeqCst),
            cancelled + 1,
            "{path}: the tokeniser never learned that its client left"
        );
    }
}

/// About 10 MB of prose: the input.
fn ten_megabytes() -> String {
    let paragraph = "The committee reviewed the proposal in detail, and agreed the budget was reasonable.\n";
    paragraph.repeat((10 << 20) / paragraph.len())
}

#[tokio::test]
async fn embedding_a_ten_megabyte_input_reads_only_its_first_tokens() {
    // Item 6: the input is cut before tokenising, on every embedding surface.
    let s = TestServer::with_engine_and_body_limit(Arc::new(ScriptedEngine::text_then_done(&["ok"])), 12 << 20).await;
    let big = ten_megabytes();
    let path = "/v1beta/models/text-embedding-004:embedContent";
    let (status, whole) = s.post_json(path, &json!({"content": {"parts": [{"text": big}]}}).to_string()).await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["embedding"]["values"].as_array().unwrap().len(), 384);
    // The model reads 256 tokens: 64 KB of the text gives the same vector.
    let (_, head) = s.post_json(path, &json!({"content": {"parts": [{"text": &big[..64 * 1024]}]}}).to_string()).await;
    assert_eq!(whole["embedding"], head["embedding"]);

    let resp = s
        .http
        .post(format!("{}/v1beta/openai/embeddings", s.base))
        .bearer_auth(crate::harness::KEY)
        .json(&json!({"model": "text-embedding-004", "input": big}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["usage"]["prompt_tokens"], 256, "the tokens the model read, capped at its limit");

    // countTokens counts all of it (before truncation), in bounded memory.
    let (status, v) = s.post_json("/v1beta/models/text-embedding-004:countTokens", &text_body(&big)).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["totalTokens"].as_u64().unwrap() > 1_500_000, "{v}");
}
