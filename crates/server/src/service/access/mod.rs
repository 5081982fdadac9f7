//! Who is calling and how much they may: API keys resolve to a project (static keys from the
//! command line belong to the default project; stored keys to theirs), and every generate
//! request is admitted against that project's per-model quota before it runs. The usage
//! ledger is written when the request ends ([`Ticket`]). Time is read from the injected
//! [`Clock`] (the system clock unless [`Access::with_clock`] says otherwise).

mod keys;
pub mod quota_error;
pub mod quota_table;
mod ticket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gemd_quota::{Clock, Decision, Grant, Limiter, QuotaError, SystemClock};
use gemd_store::{Refusal, Store, Tier};

pub use keys::{digest, KeyRing};
pub use quota_error::QuotaSurface;
pub use quota_table::{QuotaTable, COUNT_TOKENS_SUFFIX};
pub use ticket::Ticket;

use super::error::{ApiError, Dependency};

/// The project every static key belongs to.
pub const DEFAULT_PROJECT: &str = "default";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub project_id: String,
    pub tier: Tier,
    /// The stored key used (`None` for a static key).
    pub key_id: Option<String>,
}

pub struct Access {
    pub store: Arc<dyn Store>,
    pub static_keys: KeyRing,
    pub limiter: Arc<dyn Limiter>,
    pub quotas: QuotaTable,
    /// Admit requests when the shared quota state is unreachable (default: refuse with 503).
    pub fail_open: bool,
    /// What "now" is for key use, refusals and the ledger.
    pub clock: Arc<dyn Clock>,
    /// Last `last_used` write per key, so a busy key costs one write a minute, not one per call.
    touched: Mutex<HashMap<String, i64>>,
}

const TOUCH_EVERY_MS: i64 = 60_000;

impl Access {
    /// Access on the system clock.
    pub fn new(
        store: Arc<dyn Store>,
        static_keys: KeyRing,
        limiter: Arc<dyn Limiter>,
        quotas: QuotaTable,
        fail_open: bool,
    ) -> Self {
        let clock = Arc::new(SystemClock);
        Access { store, static_keys, limiter, quotas, fail_open, clock, touched: Mutex::new(HashMap::new()) }
    }

    /// This access reading time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Resolves a presented key. Unknown and revoked keys are `InvalidKey`.
    pub async fn authenticate(&self, key: &str) -> Result<Caller, ApiError> {
        if self.static_keys.contains(key) {
            let tier = match self.store.get_project(DEFAULT_PROJECT).await {
                Ok(Some(p)) => p.tier,
                _ => Tier::Free,
            };
            return Ok(Caller { project_id: DEFAULT_PROJECT.into(), tier, key_id: None });
        }
        let found = self.store.authenticate(key).await.map_err(|e| {
            tracing::error!(error = %e, "key store unavailable");
            ApiError::Unavailable(Dependency::Service)
        })?;
        let Some((k, project)) = found else { return Err(ApiError::InvalidKey) };
        self.touch(&k.id).await;
        Ok(Caller { project_id: project.id, tier: project.tier, key_id: Some(k.id) })
    }

    async fn touch(&self, key_id: &str) {
        let now = self.now_ms();
        {
            let mut touched = self.touched.lock().expect("touch lock");
            if touched.get(key_id).is_some_and(|t| now - t < TOUCH_EVERY_MS) {
                return;
            }
            touched.insert(key_id.to_string(), now);
        }
        if let Err(e) = self.store.touch_key(key_id, now).await {
            tracing::warn!(error = %e, "could not record a key's last use");
        }
    }

    /// Admits one generate request of `tokens` input tokens for `model`, or refuses it with
    /// the real service's 429 (nothing is consumed then).
    pub async fn admit(self: &Arc<Self>, caller: &Caller, model: &str, tokens: u64) -> Result<Ticket, ApiError> {
        self.admit_on(QuotaSurface::Generate, caller, model, tokens).await
    }

    /// Admits one embedding request (`embedContent`, a whole `batchEmbedContents`, or one
    /// OpenAI `embeddings` call) of `tokens` input tokens against `model`'s limits.
    /// UNCONFIRMED: whether the real service counts a batch as one request or as one per
    /// input; gemd counts one request and every input's tokens.
    pub async fn admit_embedding(
        self: &Arc<Self>,
        caller: &Caller,
        model: &str,
        tokens: u64,
    ) -> Result<Ticket, ApiError> {
        self.admit_on(QuotaSurface::Embed, caller, model, tokens).await
    }

    /// Admits one `countTokens` call on `model` against that model's own counting bucket
    /// (`QuotaTable::count_tokens_limits`, kept apart from generate's under the key
    /// `{model}:countTokens`), or refuses it with the 429 of the `count_tokens` metrics.
    /// Nothing is written to the usage ledger: counting is not billed.
    pub async fn admit_count_tokens(&self, caller: &Caller, model: &str) -> Result<(), ApiError> {
        let limits = self.quotas.count_tokens_limits(caller.tier, model);
        let bucket = format!("{model}{COUNT_TOKENS_SUFFIX}");
        self.take(QuotaSurface::CountTokens, caller, &bucket, model, limits, 0).await.map(drop)
    }

    async fn admit_on(
        self: &Arc<Self>,
        surface: QuotaSurface,
        caller: &Caller,
        model: &str,
        tokens: u64,
    ) -> Result<Ticket, ApiError> {
        let limits = self.quotas.limits(caller.tier, model);
        let grant = self.take(surface, caller, model, model, limits, tokens).await?;
        Ok(Ticket::new(self.clone(), &caller.project_id, model, tokens, grant))
    }

    /// Takes one request of `tokens` from `bucket`'s limits: the grant (`None` when admitted
    /// fail-open with the quota state unreachable), or the surface's 429 naming `model`.
    async fn take(
        &self,
        surface: QuotaSurface,
        caller: &Caller,
        bucket: &str,
        model: &str,
        limits: gemd_quota::Limits,
        tokens: u64,
    ) -> Result<Option<Grant>, ApiError> {
        match self.limiter.check_and_take(&caller.project_id, bucket, limits, tokens).await {
            Ok(Decision::Allowed(grant)) => Ok(Some(grant)),
            Ok(Decision::Denied(violations)) => {
                self.remember_refusal(caller, bucket, &violations);
                Err(ApiError::QuotaExceeded {
                    surface,
                    model: model.to_string(),
                    paid: !caller.tier.is_free(),
                    violations,
                })
            }
            Err(QuotaError::Unavailable(e)) if self.fail_open => {
                tracing::warn!(error = %e, "quota backend unreachable; admitting (fail-open)");
                Ok(None)
            }
            Err(QuotaError::Unavailable(e)) => {
                tracing::error!(error = %e, "quota backend unreachable; refusing");
                Err(ApiError::Unavailable(Dependency::Service))
            }
        }
    }
}

impl Access {
    /// Writes a refusal for the console's "recent 429s" without delaying the 429 itself.
    fn remember_refusal(&self, caller: &Caller, model: &str, violations: &[gemd_quota::Violation]) {
        let refusal = Refusal {
            project_id: caller.project_id.clone(),
            model: model.to_string(),
            at_ms: self.now_ms(),
            metrics: violations.iter().map(|v| v.metric.label()).collect::<Vec<_>>().join(","),
            retry_after_ms: violations.iter().map(|v| v.retry_after_ms).max().unwrap_or(0),
        };
        let store = self.store.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.record_refusal(&refusal).await {
                    tracing::warn!(error = %e, "could not record a quota refusal");
                }
            });
        }
    }
}
