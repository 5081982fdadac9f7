//! The retrying POST every upstream kind shares: a key from the pool for each attempt,
//! failures before the answer's first byte (no connection, a timeout, a 5xx, a 429 on every
//! key) retried with [`Backoff`] and reported as an [`UpstreamError`] so the caller can try the
//! next backend; any other answer, 4xx included, is the upstream's verdict on the request and
//! is returned as it is. A 429 benches its key for the delay the upstream gave; a 401/403 (or
//! Google's 400 `API_KEY_INVALID`) disables it. The kinds differ only in their URLs and in how
//! a key is sent ([`KeyHeader`]).

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use super::breaker::{Admission, Breaker, CircuitReport};
use super::key_pool::{key_prefix, KeyPool, KeyReport, LeasedKey, NoKey};
use super::reply::{reason, UpstreamReply};
use super::{UpstreamConfig, UpstreamError};

/// How an upstream takes its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `x-goog-api-key: KEY` (the Gemini API).
    GoogApiKey,
    /// `Authorization: Bearer KEY` (OpenAI-compatible servers).
    Bearer,
}

pub struct Transport {
    config: UpstreamConfig,
    client: reqwest::Client,
    keys: KeyPool,
    key_header: KeyHeader,
    breaker: Breaker,
}

/// How long a key rests after a 429 that gives no delay.
const DEFAULT_BENCH: Duration = Duration::from_secs(60);

impl Transport {
    pub fn new(config: UpstreamConfig, key_header: KeyHeader) -> Result<Self, UpstreamError> {
        let client = config.client()?;
        let keys = KeyPool::new(config.api_keys.clone());
        let breaker = Breaker::new(config.breaker);
        Ok(Transport { config, client, keys, key_header, breaker })
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The upstream's name for the public id `model` (the configured `model`, else the same id).
    pub fn upstream_model<'a>(&'a self, model: &'a str) -> &'a str {
        self.config.model.as_deref().unwrap_or(model)
    }

    pub fn capabilities(&self) -> &super::Capabilities {
        &self.config.capabilities
    }

    /// `{base_url}/{path}`, one slash between them.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.config.base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    pub fn keys(&self) -> Vec<KeyReport> {
        self.keys.report(Instant::now())
    }

    /// The circuit breaker's standing.
    pub fn circuit(&self) -> CircuitReport {
        self.breaker.report(Instant::now())
    }

    /// POSTs the JSON `body` to `url` ([`Self::post_live`]), or records or replays the answer
    /// where the backend is configured to ([`super::recording`]).
    pub async fn post(&self, url: &str, body: Bytes) -> Result<UpstreamReply, UpstreamError> {
        self.post_as(self.key_header, url, body).await
    }

    /// [`Self::post`] with the key sent as `key_header` says, for an upstream that speaks
    /// another protocol on some paths (a Gemini API's OpenAI layer takes `Bearer`).
    pub async fn post_as(&self, key_header: KeyHeader, url: &str, body: Bytes) -> Result<UpstreamReply, UpstreamError> {
        match &self.config.recording {
            Some(recording) => recording.post(self, key_header, url, body).await,
            None => self.post_live(key_header, url, body).await,
        }
    }

    /// POSTs the JSON `body` to `url`, retrying failures before the first byte; returns the
    /// first answer that is the upstream's verdict. While the circuit is open the backend is
    /// not tried at all.
    pub(super) async fn post_live(
        &self,
        key_header: KeyHeader,
        url: &str,
        body: Bytes,
    ) -> Result<UpstreamReply, UpstreamError> {
        if let Admission::Skip(wait) = self.breaker.admit(Instant::now()) {
            let reason = format!("skipped after failures in a row; next try in {} s", wait.as_secs_f64().ceil());
            return Err(UpstreamError::Unavailable { backend: self.name().into(), reason });
        }
        let result = self.attempts(key_header, url, body).await;
        match &result {
            Ok(_) => self.breaker.succeeded(),
            // Keys resting after a 429 say nothing about the backend's health.
            Err(UpstreamError::RateLimited { .. }) => {}
            Err(e) => {
                if self.breaker.failed(Instant::now()) {
                    tracing::warn!(backend = %self.name(), error = %e, "upstream failing: circuit opened");
                }
            }
        }
        result
    }

    async fn attempts(&self, key_header: KeyHeader, url: &str, body: Bytes) -> Result<UpstreamReply, UpstreamError> {
        let backoff = self.config.backoff;
        let mut last = None;
        // Attempts beyond the retries are allowed for keys refused or benched on the way, one
        // per key, so a pool with one good key in five still gets through.
        let budget = backoff.retries + 1 + self.keys.report(Instant::now()).len() as u32;
        let mut failures = 0;
        for _ in 0..budget {
            let key = match self.keys.lease(Instant::now()) {
                Ok(k) => Some(k),
                Err(_) if self.keys.is_empty() => None,
                Err(NoKey::AllBenched(wait)) => {
                    return Err(UpstreamError::RateLimited { backend: self.name().into(), retry_after: wait })
                }
                Err(NoKey::AllDisabled) => {
                    return Err(UpstreamError::Unavailable {
                        backend: self.name().into(),
                        reason: "every API key was refused by the upstream (401/403)".into(),
                    })
                }
            };
            let error = match self.send(key_header, url, key.as_ref(), body.clone()).await {
                Ok(reply) => match self.judge(reply, key.as_ref()).await {
                    Judged::Answer(reply) => return Ok(reply),
                    Judged::KeyTrouble(e) => {
                        last = Some(e);
                        continue;
                    }
                    Judged::Retry(e) => e,
                },
                Err(e) => e,
            };
            last = Some(error);
            if failures == backoff.retries {
                break;
            }
            tokio::time::sleep(backoff.delay(failures)).await;
            failures += 1;
        }
        Err(last.unwrap_or_else(|| UpstreamError::Unavailable {
            backend: self.name().into(),
            reason: "no attempt was made".into(),
        }))
    }

    async fn send(
        &self,
        key_header: KeyHeader,
        url: &str,
        key: Option<&LeasedKey>,
        body: Bytes,
    ) -> Result<reqwest::Response, UpstreamError> {
        let mut req = self.client.post(url).header("content-type", "application/json").body(body);
        if let Some(k) = key {
            req = match key_header {
                KeyHeader::GoogApiKey => req.header("x-goog-api-key", &k.secret),
                KeyHeader::Bearer => req.bearer_auth(&k.secret),
            };
        }
        for (name, value) in &self.config.headers {
            req = req.header(name, value);
        }
        // The answer's headers must come within the timeout; reads of the body are bounded
        // by the client's read timeout.
        match tokio::time::timeout(self.config.timeout, req.send()).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(UpstreamError::Unavailable { backend: self.name().into(), reason: reason(&e) }),
            Err(_) => Err(UpstreamError::Timeout { backend: self.name().into(), after: self.config.timeout }),
        }
    }

    /// Sorts an answer: the upstream's verdict, a key problem (benched or refused key: try
    /// the next key), or a failure worth a retry (5xx).
    async fn judge(&self, resp: reqwest::Response, key: Option<&LeasedKey>) -> Judged {
        let status = resp.status().as_u16();
        let backend = self.name().to_string();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        if status == 429 {
            let header_delay = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.bytes().await.unwrap_or_default();
            let delay = retry_delay(&body).or(header_delay).unwrap_or(DEFAULT_BENCH);
            if let Some(k) = key {
                self.keys.bench(k, Instant::now() + delay);
                tracing::warn!(backend = %backend, key = %key_prefix(&k.secret), seconds = delay.as_secs(), "upstream key rate-limited: benched");
            }
            return Judged::KeyTrouble(UpstreamError::RateLimited { backend, retry_after: delay });
        }
        if status >= 500 {
            let body = resp.bytes().await.unwrap_or_default();
            let reason = format!("answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]));
            return Judged::Retry(UpstreamError::Unavailable { backend, reason });
        }
        if let Some(k) = key.filter(|_| matches!(status, 400 | 401 | 403)) {
            // A refused key is 401/403, or Google's 400 with reason API_KEY_INVALID; other
            // 400s are about the request and go back to the client.
            let body = resp.bytes().await.unwrap_or_default();
            if status != 400 || String::from_utf8_lossy(&body).contains("API_KEY_INVALID") {
                if self.keys.disable(k) {
                    tracing::warn!(backend = %backend, key = %key_prefix(&k.secret), status, "upstream refused an API key: disabled");
                }
                return Judged::KeyTrouble(UpstreamError::Unavailable {
                    backend,
                    reason: format!("API key refused ({status})"),
                });
            }
            return Judged::Answer(UpstreamReply::buffered(status, content_type, body, backend));
        }
        Judged::Answer(UpstreamReply::unread(status, content_type, resp, backend))
    }
}

enum Judged {
    Answer(UpstreamReply),
    KeyTrouble(UpstreamError),
    Retry(UpstreamError),
}

/// `RetryInfo.retryDelay` ("12s", "0.5s") from a `google.rpc.Status` error body.
pub fn retry_delay(body: &[u8]) -> Option<Duration> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let details = v.get("error")?.get("details")?.as_array()?;
    details.iter().find_map(|d| {
        let delay = d.get("retryDelay")?.as_str()?.strip_suffix('s')?;
        delay.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_are_read_from_retry_info() {
        let body = br#"{"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"42s"}]}}"#;
        assert_eq!(retry_delay(body), Some(Duration::from_secs(42)));
        assert_eq!(retry_delay(br#"{"error":{"details":[{"retryDelay":"0.5s"}]}}"#), Some(Duration::from_millis(500)));
        assert_eq!(retry_delay(b"not json"), None);
        assert_eq!(retry_delay(br#"{"error":{"details":[{"retryDelay":"-1s"}]}}"#), None);
    }
}
