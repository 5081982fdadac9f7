//! Record and replay of an upstream's answers, so a test suite run once against the real
//! Google API runs again in CI with no network, no key and no quota, and gets the same bytes
//! every time. `record = "DIR"` sends each request for real and, once the answer has ended
//! cleanly, writes it into DIR under a key that is a hash of the request (one recorded already
//! is answered from DIR: to record again, empty it); `replay = "DIR"`
//! never touches the network and answers from DIR. A request with no recording is a
//! [`MissingRecording`] (a 404 naming the file), never a live call: a silent fallback would
//! make a CI run depend on the network again.
//!
//! The key is SHA-256 of the request's canonical form: the path relative to `base_url` (so
//! recordings made against one host replay under another) and the JSON body with every
//! object's keys sorted and no whitespace (so a client's key order or formatting does not
//! matter). Keys and headers are not part of it and are never written: a recording directory
//! can be committed. Each recording is two files, `{key}.body` (the upstream's bytes) and
//! `{key}.json` (status, content type, the pieces the body came in, and the canonical request
//! for people reading the directory), each written to a temporary name and renamed, the
//! metadata last, so a reader never sees half a recording.
//!
//! Hooked into [`Transport::post`](super::Transport::post), the one place both kinds send
//! through: what is recorded is the upstream's own answer (a Gemini upstream's SSE, an OpenAI
//! one's chat completions), and a replayed one goes through the same pass-through, framing and
//! translation code as a live one. Rejected: recording the client's answer in the server
//! layer, which would skip that code in the very runs meant to test it, and need a hook per
//! surface.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::reply::UpstreamReply;
use super::transport::{KeyHeader, Transport};
use super::UpstreamError;

/// What a backend does with its answers besides passing them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recording {
    /// Send for real and write each complete answer into the directory.
    Record(PathBuf),
    /// Answer from the directory only.
    Replay(PathBuf),
}

/// A replayed request that was never recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("backend {backend} replays recorded answers and has none for this request (key {key}): expected {}. Run once with `record` on the backend to record it.", .path.display())]
pub struct MissingRecording {
    pub backend: String,
    pub key: String,
    /// The metadata file that would hold it.
    pub path: PathBuf,
}

impl Recording {
    /// Checked when the backend is built: a record directory is created (a directory that
    /// cannot be is refused at start, not after the first answer), a replay one must exist
    /// (a mistyped one would otherwise turn every request into a 404).
    pub(super) fn check(&self, backend: &str) -> Result<(), UpstreamError> {
        let bad = |reason: String| UpstreamError::Config { backend: backend.into(), reason };
        match self {
            Recording::Record(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| bad(format!("record directory {}: {e}", dir.display())))
            }
            Recording::Replay(dir) if dir.is_dir() => Ok(()),
            Recording::Replay(dir) => Err(bad(format!("replay directory {} does not exist", dir.display()))),
        }
    }

    /// [`Transport::post`] for a recording backend.
    pub(super) async fn post(
        &self,
        transport: &Transport,
        key_header: KeyHeader,
        url: &str,
        body: Bytes,
    ) -> Result<UpstreamReply, UpstreamError> {
        let request = CanonicalRequest::new(relative_path(transport.base_url(), url), &body);
        match self {
            Recording::Replay(dir) => replay(dir, transport.name(), &request).await,
            Recording::Record(dir) => {
                // A request recorded already is answered from its recording, so a record run
                // sees what its replays will (a suite that asks the same thing twice gets one
                // answer in both), and a run that stopped halfway can be completed.
                if let Ok(reply) = replay(dir, transport.name(), &request).await {
                    return Ok(reply);
                }
                let reply = transport.post_live(key_header, url, body).await?;
                Ok(record(dir.clone(), request, reply))
            }
        }
    }
}

/// `url` without `base_url`: what the key covers of where the request went.
fn relative_path<'a>(base_url: &str, url: &'a str) -> &'a str {
    url.strip_prefix(base_url.trim_end_matches('/')).unwrap_or(url).trim_start_matches('/')
}

/// A request as it is keyed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CanonicalRequest {
    path: String,
    /// The body with sorted keys; a body that is not JSON (none is sent) as a string.
    body: Value,
}

impl CanonicalRequest {
    fn new(path: &str, body: &[u8]) -> Self {
        let body = match serde_json::from_slice::<Value>(body) {
            Ok(mut v) => {
                // The workspace's serde_json keeps insertion order, so the sort is explicit.
                v.sort_all_objects();
                v
            }
            Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
        };
        CanonicalRequest { path: path.to_string(), body }
    }

    /// SHA-256 of `POST {path}\n{compact body}`, in hex.
    fn key(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"POST ")
            .chain_update(self.path.as_bytes())
            .chain_update(b"\n")
            .chain_update(self.body.to_string().as_bytes())
            .finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `{key}.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    /// Not read back: for people looking through the directory.
    request: CanonicalRequest,
    /// The backend it was recorded from (also for people; any backend may replay it).
    recorded_by: String,
    status: u16,
    content_type: Option<String>,
    /// The lengths of the pieces the body arrived in, so a replayed stream comes in the same
    /// pieces (the bytes are the same either way).
    pieces: Vec<usize>,
}

fn files(dir: &Path, key: &str) -> (PathBuf, PathBuf) {
    (dir.join(format!("{key}.json")), dir.join(format!("{key}.body")))
}

/// The live answer, passed on as it arrives and written once it has ended cleanly; a cut
/// answer (or one the client stopped reading) is not written, so it is asked again next time.
fn record(dir: PathBuf, request: CanonicalRequest, reply: UpstreamReply) -> UpstreamReply {
    let backend = reply.backend().to_string();
    let meta = Meta {
        request,
        recorded_by: backend.clone(),
        status: reply.status,
        content_type: reply.content_type.clone(),
        pieces: Vec::new(),
    };
    struct Tee {
        chunks: futures::stream::BoxStream<'static, Result<Bytes, UpstreamError>>,
        seen: Vec<Bytes>,
        meta: Meta,
        dir: PathBuf,
    }
    let tee = Tee { chunks: reply.chunks(), seen: Vec::new(), meta, dir };
    let (status, content_type) = (tee.meta.status, tee.meta.content_type.clone());
    let teed = futures::stream::unfold(Some(tee), |state| async move {
        let mut t = state?;
        match t.chunks.next().await {
            Some(Ok(piece)) => {
                t.seen.push(piece.clone());
                Some((Ok(piece), Some(t)))
            }
            Some(Err(e)) => Some((Err(e), None)),
            None => {
                t.meta.pieces = t.seen.iter().map(Bytes::len).collect();
                let key = t.meta.request.key();
                if let Err(e) = write(&t.dir, &key, &t.meta, &t.seen.concat()).await {
                    // The client still gets its answer; the next run records it again.
                    tracing::warn!(backend = %t.meta.recorded_by, key = %key, error = %e, "could not write a recording");
                }
                None
            }
        }
    });
    UpstreamReply::streamed(status, content_type, teed.boxed(), backend)
}

/// Writes both files of one recording, each to a temporary name then renamed, the metadata
/// last: its presence means the body is complete.
async fn write(dir: &Path, key: &str, meta: &Meta, body: &[u8]) -> std::io::Result<()> {
    static UNIQUE: AtomicU64 = AtomicU64::new(0);
    let (meta_path, body_path) = files(dir, key);
    let meta = serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?;
    for (path, bytes) in [(body_path, body), (meta_path, &meta[..])] {
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
    }
    Ok(())
}

/// The recorded answer to `request`, in the pieces it was recorded in.
async fn replay(dir: &Path, backend: &str, request: &CanonicalRequest) -> Result<UpstreamReply, UpstreamError> {
    let key = request.key();
    let (meta_path, body_path) = files(dir, &key);
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| UpstreamError::Config {
        backend: backend.into(),
        reason: format!("recording {} is unreadable: {e}", path.display()),
    };
    let meta = match tokio::fs::read(&meta_path).await {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(UpstreamError::NotRecorded(MissingRecording { backend: backend.into(), key, path: meta_path }))
        }
        Err(e) => return Err(unreadable(&meta_path, &e)),
    };
    let meta: Meta = serde_json::from_slice(&meta).map_err(|e| unreadable(&meta_path, &e))?;
    let body = Bytes::from(tokio::fs::read(&body_path).await.map_err(|e| unreadable(&body_path, &e))?);
    let pieces = split(body, &meta.pieces);
    let stream = futures::stream::iter(pieces.into_iter().map(Ok)).boxed();
    Ok(UpstreamReply::streamed(meta.status, meta.content_type, stream, backend.into()))
}

/// `body` cut at the recorded lengths; whole when they do not add up (an edited body).
fn split(body: Bytes, lengths: &[usize]) -> Vec<Bytes> {
    if lengths.iter().sum::<usize>() != body.len() {
        return vec![body];
    }
    let mut at = 0;
    lengths
        .iter()
        .map(|&n| {
            at += n;
            body.slice(at - n..at)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, body: &str) -> String {
        CanonicalRequest::new(path, body.as_bytes()).key()
    }

    #[test]
    fn the_key_ignores_key_order_and_whitespace_but_not_content() {
        let path = "v1beta/models/m:generateContent";
        let a = key(
            path,
            r#"{"contents":[{"parts":[{"text":"hi"}],"role":"user"}],"generationConfig":{"topK":3,"seed":1}}"#,
        );
        let b = key(
            path,
            "{ \"generationConfig\": {\"seed\": 1, \"topK\": 3},\n  \"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"hi\"}]}] }",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            key(
                path,
                r#"{"contents":[{"parts":[{"text":"hello"}],"role":"user"}],"generationConfig":{"topK":3,"seed":1}}"#
            )
        );
        assert_ne!(
            a,
            key(
                "v1/models/m:generateContent",
                r#"{"contents":[{"parts":[{"text":"hi"}],"role":"user"}],"generationConfig":{"topK":3,"seed":1}}"#
            )
        );
        // Array order is content.
        assert_ne!(key(path, "[1,2]"), key(path, "[2,1]"));
    }

    #[test]
    fn the_path_is_relative_to_the_base_url() {
        assert_eq!(
            relative_path("http://h:1/", "http://h:1/v1beta/models/m:countTokens"),
            "v1beta/models/m:countTokens"
        );
        assert_eq!(relative_path("http://h:1/v1", "http://h:1/v1/chat/completions"), "chat/completions");
    }

    #[test]
    fn a_body_splits_at_its_recorded_pieces_or_stays_whole() {
        let body = Bytes::from_static(b"abcdef");
        assert_eq!(split(body.clone(), &[2, 0, 4]), vec!["ab", "", "cdef"]);
        assert_eq!(split(body.clone(), &[2, 2]), vec!["abcdef"]);
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gemd-recording-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn streamed(pieces: Vec<Result<Bytes, UpstreamError>>) -> UpstreamReply {
        UpstreamReply::streamed(
            200,
            Some("text/event-stream".into()),
            futures::stream::iter(pieces).boxed(),
            "b".into(),
        )
    }

    #[tokio::test]
    async fn a_recorded_answer_replays_in_its_pieces_and_a_cut_one_is_not_recorded() {
        let dir = temp_dir("roundtrip");
        let request = CanonicalRequest::new("v1beta/models/m:streamGenerateContent?alt=sse", b"{\"a\":1}");
        let live =
            streamed(vec![Ok(Bytes::from_static(b"data: 1\r\n\r\n")), Ok(Bytes::from_static(b"data: 2\r\n\r\n"))]);
        let passed: Vec<Bytes> =
            record(dir.clone(), request.clone(), live).chunks().map(Result::unwrap).collect().await;
        let again = replay(&dir, "other", &request).await.unwrap();
        assert_eq!(
            (again.status, again.content_type.as_deref(), again.backend()),
            (200, Some("text/event-stream"), "other")
        );
        let replayed: Vec<Bytes> = again.chunks().map(Result::unwrap).collect().await;
        assert_eq!(replayed, passed);
        let meta: Value = serde_json::from_slice(&std::fs::read(files(&dir, &request.key()).0).unwrap()).unwrap();
        assert_eq!(meta["request"]["path"], "v1beta/models/m:streamGenerateContent?alt=sse");

        let cut_request = CanonicalRequest::new("v1beta/models/m:streamGenerateContent?alt=sse", b"{\"a\":2}");
        let cut = UpstreamError::Cut { backend: "b".into(), reason: "gone".into() };
        let live = streamed(vec![Ok(Bytes::from_static(b"data: 1\r\n\r\n")), Err(cut.clone())]);
        let passed: Vec<_> = record(dir.clone(), cut_request.clone(), live).chunks().collect().await;
        assert_eq!(passed.last(), Some(&Err(cut)));
        let Err(UpstreamError::NotRecorded(missing)) = replay(&dir, "b", &cut_request).await else {
            panic!("a cut answer is not recorded")
        };
        assert_eq!(missing.path, dir.join(format!("{}.json", cut_request.key())));
        assert!(missing.to_string().contains(&missing.key) && missing.to_string().contains("expected /"), "{missing}");
        // Only the one recording's two files, no temporary ones left.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }
}
