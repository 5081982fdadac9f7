//! Slow and idle connections against the real transport, over raw TCP: slow headers, a slow
//! or unterminated body and an idle keep-alive connection are closed after their timeouts
//! (1 s here), a declared oversized body is refused at once, connections past the limit
//! wait instead of breaking the server, hyper's own answers carry the envelope, and a
//! stream longer than every timeout still completes. Nothing here measures time: each test
//! counts what came back, and a hang guard (far longer than the timeouts) turns "never
//! closed" into a failure instead of a hung test.

use std::sync::Arc;
use std::time::Duration;

use gemd_server::ServerLimits;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{test_limits, ScriptedEngine, TestServer, KEY};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
/// Far past every timeout of these servers: reaching it means a connection was never closed.
const HANG_GUARD: Duration = Duration::from_secs(20);
const CONNECTION_LIMIT: usize = 16;

/// Limits with every read timeout at one second.
fn short_timeouts() -> ServerLimits {
    let second = Duration::from_secs(1);
    ServerLimits {
        header_timeout: second,
        body_timeout: second,
        idle_timeout: second,
        body_min_bytes_per_second: 1 << 30,
        ..test_limits()
    }
}

async fn server(limits: ServerLimits) -> TestServer {
    TestServer::with_limits(Arc::new(ScriptedEngine::text_then_done(&["Hi"])), 40, limits).await
}

/// A raw connection to `base` (`http://host:port`).
pub async fn connect_to(base: &str) -> TcpStream {
    TcpStream::connect(base.strip_prefix("http://").expect("an http base")).await.expect("connect")
}

async fn connect(s: &TestServer) -> TcpStream {
    connect_to(&s.base).await
}

/// Everything the server sends until it closes the connection (panics past the hang guard).
pub async fn until_closed(conn: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(HANG_GUARD, async {
        let mut buf = [0u8; 8192];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection before the hang guard");
    String::from_utf8_lossy(&out).into_owned()
}

/// The status and JSON body of the one answer in `raw`.
pub fn answer(raw: &str) -> (u16, Value) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("an HTTP answer: {raw:?}"));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("a status line: {head}"));
    (status, serde_json::from_str(body).unwrap_or_else(|e| panic!("an envelope ({e}): {raw}")))
}

fn assert_envelope(raw: &str, code: u16) {
    let (status, v) = answer(raw);
    assert_eq!((status, v["error"]["code"].as_u64()), (code, Some(code as u64)), "{raw}");
    assert!(v["error"]["status"].is_string() && v["error"]["message"].is_string(), "{raw}");
}

/// The head of a generate call with the test key, without its end.
fn generate_head() -> String {
    format!("POST {GEN} HTTP/1.1\r\nhost: gemd\r\nx-goog-api-key: {KEY}\r\ncontent-type: application/json\r\n")
}

async fn still_serves(s: &TestServer) {
    // On a new connection: a pooled one may have just been closed by the idle timeout, a race
    // every HTTP client meets with a server that closes idle connections (not the point here).
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let resp = fresh.get(format!("{}/v1beta/models", s.base)).header("x-goog-api-key", KEY).send().await.expect("sent");
    assert_eq!(resp.status(), 200);
}

/// What a server with one-second timeouts sends back, until it closes, for `sent` (a
/// request it never gets whole); the server still answers afterwards.
async fn answer_to_unfinished(sent: &str) -> String {
    let s = server(short_timeouts()).await;
    let mut conn = connect(&s).await;
    conn.write_all(sent.as_bytes()).await.unwrap();
    let got = until_closed(&mut conn).await;
    still_serves(&s).await;
    got
}

#[tokio::test]
async fn slow_headers_are_closed() {
    let got = answer_to_unfinished("GET /healthz HTTP/1.1\r\nhost: gemd\r\n").await;
    assert!(!got.contains("200 OK"), "an unfinished request was answered: {got}");
}

#[tokio::test]
async fn a_slow_body_is_answered_408_and_closed() {
    let got = answer_to_unfinished(&format!("{}content-length: 100\r\n\r\n{{\"contents\"", generate_head())).await;
    assert_envelope(&got, 408);
    assert_eq!(answer(&got).1["error"]["status"], "DEADLINE_EXCEEDED");
}

#[tokio::test]
async fn an_unterminated_chunked_body_is_closed() {
    let got =
        answer_to_unfinished(&format!("{}transfer-encoding: chunked\r\n\r\n5\r\n{{\"con\r\n", generate_head())).await;
    assert_envelope(&got, 408);
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_it_is_read() {
    // A body timeout far past the hang guard: only a refusal that does not wait for the body
    // comes back in time.
    let s = server(ServerLimits { body_timeout: Duration::from_secs(600), ..test_limits() }).await;
    let mut conn = connect(&s).await;
    conn.write_all(format!("{}content-length: 50000000\r\n\r\n", generate_head()).as_bytes()).await.unwrap();
    conn.write_all(&[b' '; 1024]).await.unwrap();
    let got = until_closed(&mut conn).await;
    assert_envelope(&got, 413);
    assert!(answer(&got).1["error"]["message"].as_str().unwrap().contains("exceeds the limit"), "{got}");
    assert!(got.to_ascii_lowercase().contains("connection: close"), "{got}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    let s = server(short_timeouts()).await;
    let mut conn = connect(&s).await;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nhost: gemd\r\n\r\n").await.unwrap();
    let got = until_closed(&mut conn).await;
    assert!(got.starts_with("HTTP/1.1 200 OK") && got.ends_with("ok\n"), "one answer, then the close: {got}");
}

#[tokio::test]
async fn connections_past_the_limit_wait_and_the_server_keeps_answering() {
    let limits = ServerLimits { max_connections: CONNECTION_LIMIT, ..short_timeouts() };
    let s = server(limits).await;
    let mut idle = Vec::new();
    for _ in 0..CONNECTION_LIMIT + 4 {
        idle.push(connect(&s).await);
    }
    // The idle ones hold every permit until their header timeout; this one waits its turn.
    let resp = tokio::time::timeout(HANG_GUARD, s.http.get(format!("{}/healthz", s.base)).send())
        .await
        .expect("answered in time")
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut closed = 0;
    for conn in &mut idle {
        until_closed(conn).await;
        closed += 1;
    }
    assert_eq!(closed, CONNECTION_LIMIT + 4);
    still_serves(&s).await;
}

#[tokio::test]
async fn hypers_own_answers_carry_the_envelope() {
    let s = server(test_limits()).await;
    let mut conn = connect(&s).await;
    let headers: String = (0..150).map(|i| format!("x-extra-{i}: v\r\n")).collect();
    conn.write_all(format!("GET /healthz HTTP/1.1\r\nhost: gemd\r\n{headers}\r\n").as_bytes()).await.unwrap();
    assert_envelope(&until_closed(&mut conn).await, 431);
    let mut conn = connect(&s).await;
    conn.write_all(b"NOT\x01HTTP\r\n\r\n").await.unwrap();
    assert_envelope(&until_closed(&mut conn).await, 400);
    still_serves(&s).await;
}

#[tokio::test]
async fn a_stream_longer_than_every_timeout_completes() {
    // 400 events 5 ms apart: more than twice the 1 s timeouts.
    let pieces: Vec<String> = (0..400).map(|i| format!("w{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let engine = Arc::new(ScriptedEngine::text_then_done(&pieces));
    let s = TestServer::with_limits(engine, 1000, short_timeouts()).await;
    let resp = s
        .post(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("the whole stream");
    let events: Vec<Value> =
        text.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    let words: usize = events
        .iter()
        .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .map(|t| t.split_whitespace().count())
        .sum();
    assert_eq!(words, 400, "every piece arrived");
    assert_eq!(events.last().unwrap()["candidates"][0]["finishReason"], "STOP");
}
