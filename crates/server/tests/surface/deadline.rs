//! Deadlines and cancellation over real HTTP (crates/server/src/http/deadline.rs): a call past
//! the client's `X-Server-Timeout`, or the server's own limit, is answered 504
//! DEADLINE_EXCEEDED in Google's envelope (the OpenAI layer's form under it), or, once its
//! stream has started, ends with that error as the stream's last event; either way the work
//! stops: an upstream that hangs sees its connection closed, a local generation is cancelled
//! and charged what it produced. A client that goes away aborts the upstream request too. A
//! header that is not a positive number of seconds is refused 400.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gemd_engine::upstream::Upstream;
use gemd_engine::{Engine, EngineError, Event, EventStream, PreparedPrompt, SamplingParams};
use gemd_server::{Backends, QuotaTable, ServerLimits, DEFAULT_BACKEND, DEFAULT_PROJECT};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::harness::{test_engine, test_limits, ScriptedEngine, TestServer, KEY, TEST_OUTPUT_LIMIT};
use crate::shared::native::sse_events;
use crate::shared::openai::{layer_error, user, CHAT};
use crate::shared::server::{test_catalog, test_specs};
use crate::upstream::upstream_config;

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM_SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const STREAM_ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const HELLO: &str = r#"{"contents":[{"parts":[{"text":"Say hello"}]}]}"#;
/// What the deadline answers, whole or as a stream's last event.
const EXPIRED: &str = "Deadline expired before operation could complete.";
/// The most any wait here may take: generous, so a loaded machine does not fail a test.
const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `done` until it holds, or fails the test after [`PATIENCE`].
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "not within {PATIENCE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An upstream that accepts, reads the request and never answers, counting the requests that
/// reached it and the connections their peer (the front gemd) closed.
struct Hanging {
    url: String,
    requests: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Hanging {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (requests, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (r, c) = (requests.clone(), closed.clone());
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let (r, c) = (r.clone(), c.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut counted = false;
                    // Reads until the peer closes (0) or resets (an error), answering nothing.
                    while let Ok(1..) = conn.read(&mut buf).await {
                        if !std::mem::replace(&mut counted, true) {
                            r.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    c.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Hanging { url, requests, closed }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

/// A front gemd whose generative ids all go to the Gemini upstream at `url`, allowed far more
/// than the tests' deadlines (so the deadline is what ends a call, not the upstream timeout).
async fn front_of(url: &str) -> TestServer {
    let mut config = upstream_config("hang", url, &[KEY]);
    config.timeout = Duration::from_secs(60);
    let mut backends = Backends::default();
    backends.engines.insert(DEFAULT_BACKEND.into(), test_engine());
    backends.upstreams.insert("hang".into(), Arc::new(Upstream::new(config).unwrap()));
    let specs = test_specs(TEST_OUTPUT_LIMIT)
        .into_iter()
        .map(|mut s| {
            s.backend = "hang".into();
            s
        })
        .collect();
    TestServer::with_catalog(test_catalog(specs, &backends), QuotaTable::unlimited()).await
}

/// An engine that writes `words` words at once and then nothing, until its caller drops the
/// stream (which it counts: the generation was cancelled).
struct Stalling {
    inner: ScriptedEngine,
    words: u32,
    cancelled: Arc<AtomicUsize>,
}

impl Stalling {
    fn new(words: u32) -> Arc<Self> {
        let inner = ScriptedEngine::text_then_done(&["unused"]);
        Arc::new(Stalling { inner, words, cancelled: Arc::new(AtomicUsize::new(0)) })
    }

    fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl Engine for Stalling {
    crate::harness::delegate_to_inner!();
    fn generate(&self, _: PreparedPrompt, _: SamplingParams) -> Result<EventStream, EngineError> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..self.words {
            tx.send(Event::Text { text: format!("w{i} "), output_tokens: i + 1 }).unwrap();
        }
        let cancelled = self.cancelled.clone();
        tokio::spawn(async move {
            tx.closed().await;
            cancelled.fetch_add(1, Ordering::SeqCst);
        });
        Ok(rx)
    }
}

/// POSTs `body` to `path` of `s` with `X-Server-Timeout: timeout`; the status, the body and
/// how long the answer took to end.
async fn post_within(s: &TestServer, path: &str, body: &str, timeout: &str) -> (u16, String, Duration) {
    let start = Instant::now();
    let resp = s
        .http
        .post(format!("{}{path}", s.base))
        .header("x-goog-api-key", KEY)
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .header("x-server-timeout", timeout)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, text, start.elapsed())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Google's 504 envelope, exactly.
fn expired() -> Value {
    json!({"error": {"code": 504, "message": EXPIRED, "status": "DEADLINE_EXCEEDED"}})
}

#[tokio::test]
async fn an_upstream_that_hangs_is_answered_504_at_the_clients_deadline_and_its_connection_closed() {
    let hang = Hanging::start().await;
    let front = front_of(&hang.url).await;
    for (n, path) in [GENERATE, STREAM_SSE].into_iter().enumerate() {
        let (status, body, took) = post_within(&front, path, HELLO, "1").await;
        assert_eq!((status, json(&body)), (504, expired()), "{path}");
        assert!(took >= Duration::from_millis(900) && took < PATIENCE, "{path}: answered after {took:?}");
        assert_eq!(hang.requests(), n + 1, "{path}: the request reached the upstream");
        eventually("the upstream's connection is closed", || hang.closed() == n + 1).await;
    }
}

#[tokio::test]
async fn a_client_that_goes_away_aborts_the_upstream_request() {
    let hang = Hanging::start().await;
    let front = front_of(&hang.url).await;
    let url = format!("{}{GENERATE}", front.base);
    let client = front.http.clone();
    let call = tokio::spawn(async move {
        client.post(url).header("x-goog-api-key", KEY).body(HELLO).send().await.map(|r| r.status())
    });
    eventually("the request reaches the upstream", || hang.requests() == 1).await;
    assert_eq!(hang.closed(), 0, "the upstream call is in flight");
    call.abort();
    eventually("the upstream's connection is closed once the client left", || hang.closed() == 1).await;
}

#[tokio::test]
async fn a_slow_local_generation_is_cancelled_at_the_deadline_and_charged_what_it_produced() {
    let engine = Stalling::new(2);
    let s = TestServer::with_engine(engine.clone()).await;
    let (status, body, took) = post_within(&s, GENERATE, HELLO, "1").await;
    assert_eq!((status, json(&body)), (504, expired()));
    assert!(took >= Duration::from_millis(900), "{took:?}");
    eventually("the generation is cancelled", || engine.cancelled() == 1).await;
    // Like a client that left: one request, with the prompt and the two words it cost (the
    // row is written in the background when the ticket drops).
    let start = Instant::now();
    let rows = loop {
        let rows = s.access.store.usage(Some(DEFAULT_PROJECT), None).await.unwrap();
        if !rows.is_empty() || start.elapsed() > PATIENCE {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].requests, rows[0].candidate_tokens), (1, 2), "{rows:?}");
    assert!(rows[0].prompt_tokens > 0, "{rows:?}");
}

#[tokio::test]
async fn a_started_stream_ends_with_a_deadline_event_in_its_framing() {
    let engine = Stalling::new(2);
    let s = TestServer::with_engine(engine.clone()).await;

    let (status, body, _) = post_within(&s, STREAM_SSE, HELLO, "1").await;
    assert_eq!(status, 200, "the stream had started: {body}");
    let events = sse_events(&body);
    assert_eq!(events[0]["candidates"][0]["content"]["parts"][0]["text"], "w0 w1 ", "{body}");
    assert_eq!(events.last().unwrap(), &expired(), "{body}");

    let (status, body, _) = post_within(&s, STREAM_ARRAY, HELLO, "1").await;
    assert_eq!(status, 200, "{body}");
    let items = json(&body);
    let items = items.as_array().unwrap_or_else(|| panic!("one JSON array: {body}"));
    assert_eq!((items.len(), &items[1]), (2, &expired()), "{body}");

    let chat = json!({"model": "gemini-2.5-flash", "messages": user("Say hello"), "stream": true}).to_string();
    let (status, body, _) = post_within(&s, CHAT, &chat, "1").await;
    assert_eq!(status, 200, "{body}");
    let last = body.trim_end().rsplit("\n\n").next().unwrap();
    let last = json(last.strip_prefix("data: ").unwrap_or_else(|| panic!("an event: {body:?}")));
    assert_eq!(last, expired(), "{body}");
    assert!(!body.contains("[DONE]"), "an error ends the layer's stream: {body}");

    eventually("every generation is cancelled", || engine.cancelled() == 3).await;
}

#[tokio::test]
async fn a_call_that_has_not_started_answers_504_in_its_surfaces_form() {
    let s = TestServer::with_engine(Stalling::new(0)).await;
    let (status, body, _) = post_within(&s, STREAM_SSE, HELLO, "1").await;
    assert_eq!((status, json(&body)), (504, expired()), "no byte of the stream was written");
    let chat = json!({"model": "gemini-2.5-flash", "messages": user("Say hello")}).to_string();
    let (status, body, _) = post_within(&s, CHAT, &chat, "1").await;
    let v = json(&body);
    let e = layer_error(504, &v);
    assert_eq!((status, e), (504, &expired()["error"]), "the OpenAI layer's array form");
}

#[tokio::test]
async fn the_servers_own_limit_caps_what_a_client_asks() {
    let limits = ServerLimits { deadline: Duration::from_secs(1), ..test_limits() };
    let s = TestServer::with_limits(Stalling::new(1), TEST_OUTPUT_LIMIT, limits).await;
    let (status, body, took) = post_within(&s, GENERATE, HELLO, "3600").await;
    assert_eq!((status, json(&body)), (504, expired()));
    assert!(took < PATIENCE, "{took:?}");
    // With no header the server's limit applies as it is.
    let resp = s.post(GENERATE, HELLO).await;
    assert_eq!(resp.status().as_u16(), 504);
}

#[tokio::test]
async fn a_header_that_is_not_a_positive_number_of_seconds_is_refused() {
    let s = TestServer::scripted().await;
    for bad in ["soon", "-1", "0"] {
        let (status, body, _) = post_within(&s, GENERATE, HELLO, bad).await;
        let v = json(&body);
        assert_eq!((status, v["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{bad}: {body}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("X-Server-Timeout") && message.contains(bad), "{message}");
        let chat = json!({"model": "gemini-2.5-flash", "messages": user("hi")}).to_string();
        let (status, body, _) = post_within(&s, CHAT, &chat, bad).await;
        assert_eq!((status, layer_error(400, &json(&body))["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    }
    // A deadline the call meets changes nothing.
    let (status, body, _) = post_within(&s, GENERATE, HELLO, "30").await;
    assert_eq!(status, 200, "{body}");
}
