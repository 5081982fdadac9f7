//! The scheduler seen from HTTP: disconnects cancel decoding, the queue is bounded (and counts
//! only what waits, so a burst into free batch slots is served), cached prompt prefixes give
//! the same answer as a cold prefill, batching keeps greedy answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use gemd_engine::Engine;
use serde_json::{json, Value};

use crate::harness::{engine_with, TestServer, KEY};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

fn body(prompt: &str, max: u32) -> String {
    json!({"contents":[{"parts":[{"text": prompt}]}],"generationConfig":{"temperature":0,"maxOutputTokens":max}})
        .to_string()
}

fn text_of(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap().to_string()
}

/// Waits until the engine has no active sequence; returns how long that took.
async fn until_idle(engine: &Arc<dyn Engine>) -> Duration {
    let start = Instant::now();
    while engine.metrics().active_sequences > 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "sequence still decoding 10 s after the client left");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn a_dropped_stream_stops_decoding() {
    let engine = engine_with(|c| c.prefix_cache_entries = 0);
    let s = TestServer::with_engine(engine.clone()).await;
    // The test catalog caps output at 40 tokens; ask the model directly through a long story.
    let resp = s.post(STREAM, &body("Tell me a very long story about a dragon.", 40)).await;
    let mut chunks = resp.bytes_stream();
    chunks.next().await.expect("first chunk").unwrap();
    assert_eq!(engine.metrics().active_sequences, 1);
    drop(chunks);
    until_idle(&engine).await;
    let m = engine.metrics();
    assert_eq!(m.sequences_cancelled_total, 1, "{m:?}");
    assert_eq!(m.sequences_finished_total, 0, "the sequence was cancelled, not run to its end: {m:?}");
    let generated = m.generated_tokens_total;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.metrics().generated_tokens_total, generated, "no decoding after cancellation");
}

#[tokio::test]
async fn a_dropped_unary_request_stops_decoding() {
    let engine = engine_with(|c| c.prefix_cache_entries = 0);
    let s = TestServer::with_engine(engine.clone()).await;
    let url = format!("{}{GEN}", s.base);
    let req =
        s.http.post(url).header("x-goog-api-key", KEY).body(body("Tell me a very long story about a dragon.", 40));
    let call = tokio::spawn(req.send());
    // Abort the client as soon as decoding is under way.
    let start = Instant::now();
    while engine.metrics().generated_tokens_total < 2 {
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    call.abort();
    until_idle(&engine).await;
    let m = engine.metrics();
    assert_eq!(m.sequences_cancelled_total, 1, "{m:?}");
    assert!(m.generated_tokens_total < 40, "decoding stopped early: {m:?}");
}

#[tokio::test]
async fn a_full_queue_answers_503_and_never_piles_up() {
    let engine = engine_with(|c| {
        c.max_sequences = 1;
        c.queue_capacity = 1;
        c.prefix_cache_entries = 0;
    });
    let s = Arc::new(TestServer::with_engine(engine.clone()).await);
    let mut calls = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        calls.push(tokio::spawn(async move {
            let r = s.post(GEN, &body("Tell me a story.", 30)).await;
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut statuses = Vec::new();
    for c in calls {
        let (status, v) = c.await.unwrap();
        if status == 503 {
            assert_eq!(v["error"]["message"], "The model is overloaded. Please try again later.");
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 503, 503], "one running, one queued, the rest refused");
    assert_eq!(engine.metrics().requests_rejected_total, 2);
}

/// A long system instruction shared by the prefix-cache tests (~700 tokens).
fn rules() -> String {
    "You are a careful assistant. ".to_string()
        + &(0..60)
            .map(|i| format!("Rule {i}: answer with the number {i} when asked about rule {i}."))
            .collect::<Vec<_>>()
            .join(" ")
}

fn ask(system: &str, question: &str, max: u32) -> String {
    json!({
        "systemInstruction": {"parts": [{"text": system}]},
        "contents": [{"role": "user", "parts": [{"text": question}]}],
        "generationConfig": {"temperature": 0, "maxOutputTokens": max}
    })
    .to_string()
}

/// Sends `requests` in order to an engine with `entries` prefix-cache entries and to one with
/// none; requires every answer (text and token counts) to be the same; returns the cached
/// engine's metrics.
async fn warm_answers_equal_cold(entries: u32, requests: &[String]) -> gemd_engine::EngineMetrics {
    let cached = engine_with(|c| c.prefix_cache_entries = entries);
    let cold = engine_with(|c| c.prefix_cache_entries = 0);
    let warm_server = TestServer::with_engine(cached.clone()).await;
    let cold_server = TestServer::with_engine(cold).await;
    for (i, request) in requests.iter().enumerate() {
        let (s1, warm) = warm_server.post_json(GEN, request).await;
        let (s2, reference) = cold_server.post_json(GEN, request).await;
        assert_eq!((s1, s2), (200, 200));
        assert_eq!(text_of(&warm), text_of(&reference), "request {i}: the cached prefix changed the answer");
        assert_eq!(warm["usageMetadata"], reference["usageMetadata"]);
        // Idle between requests, as a lone client leaves it: freed KV cells are given back now.
        until_idle(&cached).await;
    }
    cached.metrics()
}

#[tokio::test]
async fn a_cached_prefix_answers_exactly_like_a_cold_prefill() {
    let system = rules();
    let requests: Vec<String> =
        ["What is rule 3?", "What is rule 41?", "What is rule 3?"].iter().map(|q| ask(&system, q, 24)).collect();
    let m = warm_answers_equal_cold(8, &requests).await;
    assert_eq!(m.prefix_cache_hits_total, 2, "{m:?}");
    assert!(m.prefix_tokens_reused_total > 2 * 600, "the shared system instruction was reused: {m:?}");
    assert!(m.prefix_copy_micros_total > 0, "the copies are timed: {m:?}");
}

/// The case that sharing the cached cells in place got wrong: free cells lie *before* the
/// cached prefix. With one cache entry, each finished request evicts the one before it, whose
/// cells are freed once the engine is idle; llama.cpp then fills the lowest free cells first, so
/// a suffix appended to a prefix left where it was would come before it in cell order.
#[tokio::test]
async fn a_cached_prefix_after_freed_cells_answers_exactly_like_a_cold_prefill() {
    let system = rules();
    let mut requests = vec![body("Name three fruits and say why you like them.", 24)];
    // Questions that share the same cut ("...What is rule "): a copied prefix carries the
    // sliding-window layers' cells for the 512 positions before its cut only, so it serves a
    // later prompt up to that cut or beyond, not a shorter one.
    for q in ["What is rule 7?", "What is rule 52?", "What is rule 18?", "What is rule 29?", "What is rule 43?"] {
        requests.push(ask(&system, q, 40));
    }
    let m = warm_answers_equal_cold(1, &requests).await;
    assert_eq!(m.prefix_cache_hits_total, 4, "every request after the first rules one reused it: {m:?}");
}

/// Runs the first `alone` prompts one at a time, then all `prompts` at once on an engine with
/// eight sequences; returns the answers of both phases.
async fn answers_alone_then_together(
    prompts: &[String],
    alone: usize,
    request: fn(&str) -> String,
) -> (Vec<String>, Vec<String>) {
    let engine = engine_with(|c| {
        c.max_sequences = 8;
        c.prefix_cache_entries = 0;
    });
    let s = Arc::new(TestServer::with_engine(engine).await);
    let mut single = Vec::new();
    for p in &prompts[..alone] {
        let (status, v) = s.post_json(GEN, &request(p)).await;
        assert_eq!(status, 200);
        single.push(text_of(&v));
    }
    let calls: Vec<_> = prompts
        .iter()
        .map(|p| {
            let (s, p) = (s.clone(), p.clone());
            tokio::spawn(async move { s.post_json(GEN, &request(&p)).await })
        })
        .collect();
    let mut together = Vec::new();
    for c in calls {
        let (status, v) = c.await.unwrap();
        assert_eq!(status, 200);
        together.push(text_of(&v));
    }
    (single, together)
}

fn greedy(prompt: &str) -> String {
    body(prompt, 24)
}

fn numbered_prompts(first: String) -> Vec<String> {
    std::iter::once(first).chain((1..8).map(|i| format!("Write a sentence about the number {i}."))).collect()
}

/// Per-request determinism under continuous batching: the same request gives the same greedy
/// text alone and decoded next to seven others. With llama.cpp's runtime weight repacking it did
/// not (repacked Q4_K weights take a GEMM or a GEMV depending on the batch's row count), hence
/// `GGML_CPU_REPACK=OFF` in .cargo/config.toml.
#[tokio::test]
async fn greedy_answers_are_the_same_alone_and_in_a_batch_of_eight() {
    let (alone, batched) = answers_alone_then_together(&numbered_prompts("Name three fruits.".into()), 1, greedy).await;
    assert_eq!(batched[0], alone[0]);
}

/// The stronger form: eight different requests, each alone and then all eight together (one
/// with a ~700-token prompt that spans several steps and crosses the 512-cell threshold of
/// llama.cpp's split attention). Every answer must be the same. With llama.cpp's own kernel
/// choices (before kernels.rs) three of the eight changed.
#[tokio::test]
async fn eight_different_requests_answer_alone_as_in_a_batch() {
    let long =
        (1..=60).map(|i| format!("Item {i} on the list is a fruit or a vegetable.")).collect::<Vec<_>>().join(" ")
            + " Now write a short poem about the sea.";
    let (alone, batched) = answers_alone_then_together(&numbered_prompts(long), 8, greedy).await;
    assert_eq!(batched, alone);
}

/// Sampled answers too: with a `seed`, a request at temperature 1 draws the same tokens alone
/// and in a batch of eight (its random stream is its own; its logits do not depend on the batch).
#[tokio::test]
async fn seeded_answers_are_the_same_alone_and_in_a_batch_of_eight() {
    let seeded = |p: &str| {
        json!({"contents":[{"parts":[{"text": p}]}],
        "generationConfig":{"temperature":1.0,"topP":0.95,"topK":64,"seed":1234,"maxOutputTokens":24}})
        .to_string()
    };
    let (alone, batched) =
        answers_alone_then_together(&numbered_prompts("Invent a name for a cat.".into()), 8, seeded).await;
    assert_eq!(batched, alone);
}

/// `/metrics` exposes the engine's counters, including the split of the engine thread's time
/// between llama.cpp's forward passes and the scheduler's own work.
#[tokio::test]
async fn metrics_split_model_time_from_scheduler_time() {
    let engine = engine_with(|c| c.prefix_cache_entries = 0);
    let s = TestServer::with_engine(engine).await;
    let (status, v) = s.post_json(GEN, &body("Name three fruits.", 8)).await;
    assert_eq!(status, 200);
    let prompt = v["usageMetadata"]["promptTokenCount"].as_u64().unwrap();
    let text = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("gemd_engine_decode_steps_total") >= 2.0);
    assert!(value("gemd_engine_batch_tokens_total") >= prompt as f64);
    assert!(value("gemd_engine_decode_seconds_total") > 0.0);
    assert!(value("gemd_engine_sample_seconds_total") > 0.0);
}

#[tokio::test]
async fn a_burst_into_free_batch_slots_is_served_not_refused() {
    // No waiting room at all, four batch slots: four simultaneous requests all fit.
    let engine = engine_with(|c| {
        c.max_sequences = 4;
        c.queue_capacity = 0;
        c.prefix_cache_entries = 0;
    });
    let s = Arc::new(TestServer::with_engine(engine.clone()).await);
    let body = json!({"contents": [{"parts": [{"text": "Say hi."}]}], "generationConfig": {"maxOutputTokens": 4, "temperature": 0}}).to_string();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let (s, body) = (s.clone(), body.clone());
            tokio::spawn(async move {
                s.post("/v1beta/models/gemini-2.0-flash:generateContent", &body).await.status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    assert_eq!(statuses, vec![200; 4], "{:?}", engine.metrics());
    assert_eq!(engine.metrics().requests_rejected_total, 0);
}
