//! Record and replay of upstream backends: a front whose backend records answers from a real
//! upstream gemd into a directory, then a second front whose backend replays that directory
//! with nothing listening at its address, gives the client byte-identical bodies (generate,
//! a stream, countTokens; a Gemini upstream and an OpenAI one). A request that was never
//! recorded is a 404 naming the file it would be in, not a live call; the recordings hold no
//! key.

use std::path::{Path, PathBuf};

use gemd_engine::upstream::{Recording, UpstreamConfig, UpstreamProtocol};
use serde_json::Value;

use crate::harness::{TestServer, KEY};
use crate::upstream::{config_of, front, hello_engine, post};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM_SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const STREAM_ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const COUNT: &str = "/v1beta/models/gemini-2.5-flash:countTokens";
const HELLO: &str = r#"{"contents":[{"parts":[{"text":"Say hello"}]}]}"#;
/// HELLO with another key order and whitespace: the same recording.
const HELLO_RESHAPED: &str = "{\n  \"contents\": [ { \"parts\": [ { \"text\": \"Say hello\" } ] } ]\n}";

/// A fresh directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("gemd-upstream-record-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An address nothing listens on: a port just released.
async fn dead_url() -> String {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}", dead.local_addr().unwrap())
}

/// `config` with its answers recorded into, or replayed from, `dir`.
fn recording(mut config: UpstreamConfig, recording: Recording) -> UpstreamConfig {
    config.recording = Some(recording);
    config
}

async fn front_of(name: &str, config: UpstreamConfig) -> TestServer {
    front(&[(name, Some(config))], hello_engine(&["local"])).await
}

/// Records `calls` through a front on `live`, then replays them through a front on a dead
/// address of the same path; returns the replaying front, after checking every body is
/// byte-identical and the recordings hold no key.
async fn record_then_replay(
    dir: &Path,
    live: UpstreamConfig,
    dead: UpstreamConfig,
    calls: &[(&str, &str)],
) -> TestServer {
    let name = live.name.clone();
    let recorder = front_of(&name, recording(live, Recording::Record(dir.into()))).await;
    let mut recorded = Vec::new();
    for (path, body) in calls {
        let (status, backend, text) = post(&recorder, path, body).await;
        assert_eq!((status, backend.as_deref()), (200, Some(name.as_str())), "{path}: {text}");
        recorded.push(text);
    }
    drop(recorder);

    let replayer = front_of(&name, recording(dead, Recording::Replay(dir.into()))).await;
    for ((path, body), recorded) in calls.iter().zip(&recorded) {
        let (status, backend, text) = post(&replayer, path, body).await;
        assert_eq!((status, backend.as_deref()), (200, Some(name.as_str())), "{path}: {text}");
        assert_eq!(&text, recorded, "{path}: the replayed body is the recorded one, byte for byte");
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!file.contains(KEY), "no key is written: {file}");
    }
    replayer
}

#[tokio::test]
async fn a_gemini_upstream_recorded_once_replays_byte_identical_bodies_offline() {
    let dir = TempDir::new("gemini");
    let upstream = TestServer::with_engine(hello_engine(&["Hel", "lo"])).await;
    let live = config_of("google", &upstream.base, &[KEY], UpstreamProtocol::Gemini);
    // A replay needs no key and no network.
    let dead = config_of("google", &dead_url().await, &[], UpstreamProtocol::Gemini);
    let calls = [(GENERATE, HELLO), (STREAM_SSE, HELLO), (STREAM_ARRAY, HELLO), (COUNT, HELLO)];
    let replayer = record_then_replay(&dir.0, live, dead, &calls).await;
    // Three recordings (both stream framings ask the upstream the same SSE), two files each.
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 6);

    // Another key order and whitespace are the same request.
    let (status, _, reshaped) = post(&replayer, GENERATE, HELLO_RESHAPED).await;
    assert_eq!(status, 200, "{reshaped}");

    // An unrecorded request is a 404 naming the missing recording; the upstream is not asked.
    let (status, backend, body) = post(&replayer, GENERATE, r#"{"contents":[{"parts":[{"text":"Other"}]}]}"#).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, v["error"]["status"].as_str(), backend), (404, Some("NOT_FOUND"), None), "{body}");
    let message = v["error"]["message"].as_str().unwrap();
    let expected = dir.0.to_str().unwrap();
    assert!(
        message.contains("backend google") && message.contains(expected) && message.contains(".json"),
        "names the backend and the file: {message}"
    );
}

#[tokio::test]
async fn an_openai_upstream_recorded_once_replays_byte_identical_bodies_offline() {
    let dir = TempDir::new("openai");
    let upstream = TestServer::with_engine(hello_engine(&["Sun", "ny."])).await;
    let root = |base: &str| format!("{base}/v1beta/openai");
    let live = config_of("oa", &root(&upstream.base), &[KEY], UpstreamProtocol::OpenAi);
    let dead = config_of("oa", &root(&dead_url().await), &[], UpstreamProtocol::OpenAi);
    record_then_replay(&dir.0, live, dead, &[(GENERATE, HELLO), (STREAM_SSE, HELLO)]).await;
}
