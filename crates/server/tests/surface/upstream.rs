//! Routed ids on a Gemini-API upstream that is a real gemd over HTTP (in-process, on a
//! scripted engine): native calls pass through with the upstream's answer, streams are
//! re-framed with each chunk intact, a dead first backend falls back to the next, a key the
//! upstream rate-limits is benched and the next key serves, an upstream verdict (4xx) comes
//! back as it is, a stream the upstream breaks off ends with an error event, and the ledger
//! records the upstream's usage. (Through real SDKs and the real model: tests/python.)

use std::sync::Arc;
use std::time::Duration;

use gemd_engine::upstream::{Backoff, Upstream, UpstreamConfig, UpstreamProtocol};
use gemd_engine::{Engine, EngineError, Event, Finish};
use gemd_server::{Backends, QuotaTable, DEFAULT_BACKEND, DEFAULT_PROJECT};
use serde_json::Value;

use crate::harness::{ScriptedEngine, TestServer, KEY};
use crate::shared::native::sse_events;
use crate::shared::server::{test_catalog, test_specs, TEST_OUTPUT_LIMIT};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM_SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const STREAM_ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const COUNT: &str = "/v1beta/models/gemini-2.5-flash:countTokens";
const HELLO: &str = r#"{"contents":[{"parts":[{"text":"Say hello"}]}]}"#;

pub(crate) fn upstream_config(name: &str, base: &str, keys: &[&str]) -> UpstreamConfig {
    config_of(name, base, keys, UpstreamProtocol::Gemini)
}

/// A config with short timeouts and backoff, so failure paths take milliseconds.
pub(crate) fn config_of(name: &str, base: &str, keys: &[&str], protocol: UpstreamProtocol) -> UpstreamConfig {
    let mut c = UpstreamConfig::new(name, base, protocol);
    c.api_keys = keys.iter().map(|k| k.to_string()).collect();
    c.timeout = Duration::from_secs(5);
    c.backoff = Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(40), retries: 1 };
    c
}

/// A front gemd whose generative ids go to `hops` in order: upstream names (each an upstream
/// of its config) and `"default"` (a local scripted engine).
pub(crate) async fn front(hops: &[(&str, Option<UpstreamConfig>)], local: Arc<dyn Engine>) -> TestServer {
    let mut backends = Backends::default();
    backends.engines.insert(DEFAULT_BACKEND.into(), local);
    for (name, config) in hops {
        if let Some(c) = config {
            backends.upstreams.insert(name.to_string(), Arc::new(Upstream::new(c.clone()).expect("upstream")));
        }
    }
    let names: Vec<String> = hops.iter().map(|(n, _)| n.to_string()).collect();
    let specs = test_specs(TEST_OUTPUT_LIMIT)
        .into_iter()
        .map(|mut s| {
            s.backend = names[0].clone();
            s.fallbacks = names[1..].to_vec();
            s
        })
        .collect();
    TestServer::with_catalog(test_catalog(specs, &backends), QuotaTable::unlimited()).await
}

pub(crate) fn hello_engine(words: &[&str]) -> Arc<dyn Engine> {
    Arc::new(ScriptedEngine::text_then_done(words))
}

pub(crate) async fn post(s: &TestServer, path: &str, body: &str) -> (u16, Option<String>, String) {
    let resp = s.post(path, body).await;
    let backend = resp.headers().get("x-gemd-backend").map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), backend, resp.text().await.unwrap())
}

/// The parts of a response that are the same on every call (no ids).
fn stable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("responseId");
    }
    v
}

#[tokio::test]
async fn native_calls_pass_through_with_the_upstreams_answer() {
    let upstream = TestServer::with_engine(hello_engine(&["Hel", "lo"])).await;
    let front = front(&[("up", Some(upstream_config("up", &upstream.base, &[KEY])))], hello_engine(&["local"])).await;

    let (direct_status, _, direct) = post(&upstream, GENERATE, HELLO).await;
    let (status, backend, via) = post(&front, GENERATE, HELLO).await;
    assert_eq!((status, direct_status), (200, 200), "{via}");
    assert_eq!(backend.as_deref(), Some("up"));
    let (direct, via): (Value, Value) = (serde_json::from_str(&direct).unwrap(), serde_json::from_str(&via).unwrap());
    assert_eq!(stable(&via), stable(&direct), "the upstream's answer, as it is");
    assert_eq!(via["candidates"][0]["content"]["parts"][0]["text"], "Hello");

    let (status, backend, body) = post(&front, COUNT, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{body}");
    let (_, _, direct_count) = post(&upstream, COUNT, HELLO).await;
    assert_eq!(body, direct_count);

    // The listing says who serves the id.
    let (_, model) = front.get_json("/v1beta/models/gemini-2.5-flash").await;
    assert!(model["description"].as_str().unwrap().contains("Gemini API upstream up"), "{model}");
}

#[tokio::test]
async fn streams_are_reframed_with_every_chunk_intact() {
    let upstream = TestServer::with_engine(hello_engine(&["One", " two", " three"])).await;
    let front = front(&[("up", Some(upstream_config("up", &upstream.base, &[KEY])))], hello_engine(&["x"])).await;

    let (status, backend, sse) = post(&front, STREAM_SSE, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{sse}");
    let (_, _, direct) = post(&upstream, STREAM_SSE, HELLO).await;
    let (via, direct) = (sse_events(&sse), sse_events(&direct));
    assert_eq!(via.iter().map(stable).collect::<Vec<_>>(), direct.iter().map(stable).collect::<Vec<_>>());
    assert!(sse.ends_with("\r\n\r\n") && !sse.contains("[DONE]"), "{sse:?}");

    let (status, _, array) = post(&front, STREAM_ARRAY, HELLO).await;
    assert_eq!(status, 200, "{array}");
    let items: Vec<Value> = serde_json::from_str(&array).unwrap_or_else(|e| panic!("{e}: {array}"));
    let text: String =
        items.iter().filter_map(|i| i["candidates"][0]["content"]["parts"][0]["text"].as_str()).collect();
    assert_eq!(text, "One two three");
    assert_eq!(items.last().unwrap()["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn a_dead_first_backend_falls_back_to_the_next() {
    // Nothing listens on a port just released.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let upstream = TestServer::with_engine(hello_engine(&["from", " b"])).await;
    let front = front(
        &[("a", Some(upstream_config("a", &dead_url, &[]))), ("b", Some(upstream_config("b", &upstream.base, &[KEY])))],
        hello_engine(&["x"]),
    )
    .await;
    let (status, backend, body) = post(&front, GENERATE, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("b")), "{body}");

    // A local backend is a fallback too.
    let front = front_dead_then_local(&dead_url).await;
    let (status, backend, body) = post(&front, STREAM_SSE, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("scripted")), "{body}");
    assert_eq!(sse_events(&body)[0]["candidates"][0]["content"]["parts"][0]["text"], "local");

    // Three failures in a row open a's circuit: it is skipped, and /healthz/backends says so.
    for _ in 0..2 {
        assert_eq!(post(&front, GENERATE, HELLO).await.0, 200);
    }
    let (_, health) = front.get_json("/healthz/backends").await;
    let circuit = &health["backends"][0]["circuit"];
    assert_eq!(
        (circuit["state"].as_str(), circuit["consecutiveFailures"].as_u64()),
        (Some("open"), Some(3)),
        "{health}"
    );
    assert!(circuit["retryInSeconds"].as_u64().is_some_and(|s| (1..=10).contains(&s)), "{health}");
    let (status, backend, _) = post(&front, GENERATE, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("scripted")), "served by the next while a is skipped");
}

async fn front_dead_then_local(dead_url: &str) -> TestServer {
    front(&[("a", Some(upstream_config("a", dead_url, &[]))), ("default", None)], hello_engine(&["local"])).await
}

#[tokio::test]
async fn when_no_backend_answers_the_error_is_unavailable_and_nothing_is_charged() {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let front = front(
        &[("a", Some(upstream_config("a", &dead_url, &[]))), ("b", Some(upstream_config("b", &dead_url, &[])))],
        hello_engine(&["x"]),
    )
    .await;
    let (status, _, body) = post(&front, GENERATE, HELLO).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, v["error"]["status"].as_str()), (503, Some("UNAVAILABLE")), "{body}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("tried a, b") && !message.contains("127.0.0.1"),
        "names backends, not addresses: {message}"
    );
    let usage = front.access.store.usage(Some(DEFAULT_PROJECT), None).await.unwrap();
    assert!(usage.is_empty(), "not served, not charged: {usage:?}");
}

#[tokio::test]
async fn a_rate_limited_key_is_benched_and_the_next_key_serves() {
    // The upstream allows one request a minute per project; the front holds two keys of two
    // upstream projects.
    let mut quotas = QuotaTable::unlimited();
    quotas.set(gemd_store::Tier::Free, "gemini-2.5-flash", gemd_quota::Limits { rpm: Some(1), tpm: None, rpd: None });
    let upstream = TestServer::with_engine_and_quotas(hello_engine(&["ok"]), quotas).await;
    upstream.access.store.ensure_project("second", "Second", gemd_store::Tier::Free).await.unwrap();
    let second = upstream.access.store.create_key("second", "k").await.unwrap().secret;
    let front =
        front(&[("up", Some(upstream_config("up", &upstream.base, &[KEY, &second])))], hello_engine(&["x"])).await;

    // KEY's minute is used; the second key's is not.
    assert_eq!(post(&upstream, GENERATE, HELLO).await.0, 200);
    let (status, backend, body) = post(&front, GENERATE, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "served with the second key: {body}");
    // Now both minutes are used: the client gets the 429, with the soonest retry.
    let (status, _, body) = post(&front, GENERATE, HELLO).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, v["error"]["status"].as_str()), (429, Some("RESOURCE_EXHAUSTED")), "{body}");
    let retry = v["error"]["details"][0]["retryDelay"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert!(retry.ends_with('s'), "{retry}");
    // /healthz/backends shows both keys resting, by prefix only.
    let (status, health) = front.get_json("/healthz/backends").await;
    assert_eq!(status, 200);
    let keys = &health["backends"][0]["keys"];
    assert_eq!((keys[0]["state"].as_str(), keys[1]["state"].as_str()), (Some("benched"), Some("benched")), "{health}");
    assert!(!health.to_string().contains(KEY) && !health.to_string().contains(&second), "{health}");
}

#[tokio::test]
async fn an_upstream_verdict_comes_back_as_it_is_and_is_not_charged() {
    let upstream = TestServer::with_engine(hello_engine(&["ok"])).await;
    let front = front(&[("up", Some(upstream_config("up", &upstream.base, &[KEY])))], hello_engine(&["x"])).await;
    // Valid to gemd's parser, refused by the upstream: its system instruction check (Gemma).
    let path = "/v1beta/models/gemma-3-4b-it:generateContent";
    let body = r#"{"systemInstruction":{"parts":[{"text":"Be brief"}]},"contents":[{"parts":[{"text":"hi"}]}]}"#;
    let (direct_status, _, direct) = post(&upstream, path, body).await;
    let (status, backend, via) = post(&front, path, body).await;
    assert_eq!((status, direct_status, backend.as_deref()), (400, 400, Some("up")));
    assert_eq!(via, direct);
    let usage = front.access.store.usage(Some(DEFAULT_PROJECT), None).await.unwrap();
    assert!(usage.is_empty(), "{usage:?}");

    // A body gemd's own parser refuses never leaves: the same 400 as for a local id.
    let (status, backend, _) = post(&front, GENERATE, r#"{"contents":[{"parts":[{"txt":"hi"}]}]}"#).await;
    assert_eq!((status, backend), (400, None));
}

#[tokio::test]
async fn the_ledger_records_the_upstreams_usage() {
    let upstream = TestServer::with_engine(hello_engine(&["a", "b", "c"])).await;
    let front = front(&[("up", Some(upstream_config("up", &upstream.base, &[KEY])))], hello_engine(&["x"])).await;
    let (_, _, body) = post(&front, GENERATE, HELLO).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let usage = &v["usageMetadata"];
    let (_, _, sse) = post(&front, STREAM_SSE, HELLO).await;
    let last = sse_events(&sse).pop().expect("events");
    let streamed = &last["usageMetadata"];
    let rows = front.access.store.usage(Some(DEFAULT_PROJECT), None).await.unwrap();
    let prompt: i64 = rows.iter().map(|r| r.prompt_tokens).sum();
    let candidates: i64 = rows.iter().map(|r| r.candidate_tokens).sum();
    let requests: i64 = rows.iter().map(|r| r.requests).sum();
    assert_eq!(requests, 2, "{rows:?}");
    let sum = |k: &str| usage[k].as_i64().unwrap() + streamed[k].as_i64().unwrap();
    assert_eq!(prompt, sum("promptTokenCount"), "{rows:?} {usage} {streamed}");
    assert_eq!(candidates, sum("candidatesTokenCount"), "{rows:?} {usage} {streamed}");
}

#[tokio::test]
async fn a_stream_the_upstream_breaks_off_ends_with_an_error_event() {
    // The upstream runs on a runtime of its own, dropped once its first chunk is out: its
    // connections close mid-answer, as when the process dies.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async {
            let mut script: Vec<Event> =
                (0..200).map(|i| Event::Text { text: format!("w{i} "), output_tokens: i + 1 }).collect();
            script.push(Event::Done { finish: Finish::Stop, prompt_tokens: 2, output_tokens: 200 });
            let s = TestServer::with_engine(Arc::new(ScriptedEngine::new(script))).await;
            addr_tx.send(s.base.clone()).unwrap();
            let _ = stop_rx.await;
        });
        rt.shutdown_timeout(Duration::from_millis(10));
    });
    let base = addr_rx.recv().unwrap();
    let front = front(&[("up", Some(upstream_config("up", &base, &[KEY])))], hello_engine(&["x"])).await;

    let mut resp = front.post(STREAM_SSE, HELLO).await;
    assert_eq!(resp.status(), 200);
    let first = resp.chunk().await.unwrap().expect("a first chunk");
    assert!(String::from_utf8_lossy(&first).contains("w0"));
    stop_tx.send(()).unwrap();
    thread.join().unwrap();
    let mut rest = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), resp.chunk()).await.expect("no hang").unwrap()
    {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = sse_events(&rest);
    let last = events.last().unwrap_or_else(|| panic!("an error event: {rest:?}"));
    assert_eq!(last["error"]["status"], "UNAVAILABLE", "{rest}");
    assert!(last["error"]["message"].as_str().unwrap().contains("backend up stopped sending it"), "{last}");

    // The front is still healthy.
    let ok = TestServer::with_engine(hello_engine(&["ok"])).await;
    let front2 = front_hops_to(&ok.base).await;
    assert_eq!(post(&front2, GENERATE, HELLO).await.0, 200);
    let health = front.http.get(format!("{}/healthz", front.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

async fn front_hops_to(base: &str) -> TestServer {
    front(&[("up", Some(upstream_config("up", base, &[KEY])))], hello_engine(&["x"])).await
}

#[tokio::test]
async fn a_local_backend_that_is_overloaded_passes_to_the_next() {
    let upstream = TestServer::with_engine(hello_engine(&["remote"])).await;
    let mut overloaded = ScriptedEngine::text_then_done(&["never"]);
    overloaded.refuse = Some(EngineError::Overloaded);
    let front =
        front(&[("default", None), ("up", Some(upstream_config("up", &upstream.base, &[KEY])))], Arc::new(overloaded))
            .await;
    let (status, backend, body) = post(&front, GENERATE, HELLO).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{body}");
}
