//! Who is calling and how much they may: API keys resolve to a project (static keys from the
//! command line belong to the default project; stored keys to theirs), and every generate
//! request is admitted against that project's per-model quota before it runs. The usage
//! ledger is written when the request ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gemd_quota::{pacific_day, Decision, Grant, Limiter, QuotaError};
use gemd_store::{Refusal, Store, Tier, UsageRow};

use crate::auth::KeyRing;
use crate::error::ApiError;
use crate::quota_error::QuotaSurface;
use crate::quota_table::{QuotaTable, COUNT_TOKENS_SUFFIX};

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
    /// Last `last_used` write per key, so a busy key costs one write a minute, not one per call.
    touched: Mutex<HashMap<String, i64>>,
}

const TOUCH_EVERY_MS: i64 = 60_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Access {
    pub fn new(store: Arc<dyn Store>, static_keys: KeyRing, limiter: Arc<dyn Limiter>, quotas: QuotaTable, fail_open: bool) -> Self {
        Access { store, static_keys, limiter, quotas, fail_open, touched: Mutex::new(HashMap::new()) }
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
            ApiError::Unavailable("The service is currently unavailable.".into())
        })?;
        let Some((k, project)) = found else { return Err(ApiError::InvalidKey) };
        self.touch(&k.id).await;
        Ok(Caller { project_id: project.id, tier: project.tier, key_id: Some(k.id) })
    }

    async fn touch(&self, key_id: &str) {
        let now = now_ms();
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
    pub async fn admit_embedding(self: &Arc<Self>, caller: &Caller, model: &str, tokens: u64) -> Result<Ticket, ApiError> {
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

    async fn admit_on(self: &Arc<Self>, surface: QuotaSurface, caller: &Caller, model: &str, tokens: u64) -> Result<Ticket, ApiError> {
        let limits = self.quotas.limits(caller.tier, model);
        let grant = self.take(surface, caller, model, model, limits, tokens).await?;
        Ok(Ticket { access: self.clone(), project_id: caller.project_id.clone(), model: model.to_string(), prompt_tokens: tokens as i64, output_tokens: 0, grant, closed: false })
    }

    /// Takes one request of `tokens` from `bucket`'s limits: the grant (`None` when admitted
    /// fail-open with the quota state unreachable), or the surface's 429 naming `model`.
    async fn take(&self, surface: QuotaSurface, caller: &Caller, bucket: &str, model: &str, limits: gemd_quota::Limits, tokens: u64) -> Result<Option<Grant>, ApiError> {
        match self.limiter.check_and_take(&caller.project_id, bucket, limits, tokens).await {
            Ok(Decision::Allowed(grant)) => Ok(Some(grant)),
            Ok(Decision::Denied(violations)) => {
                self.remember_refusal(caller, bucket, &violations);
                Err(ApiError::QuotaExceeded { surface, model: model.to_string(), paid: !caller.tier.is_free(), violations })
            }
            Err(QuotaError::Unavailable(e)) if self.fail_open => {
                tracing::warn!(error = %e, "quota backend unreachable; admitting (fail-open)");
                Ok(None)
            }
            Err(QuotaError::Unavailable(e)) => {
                tracing::error!(error = %e, "quota backend unreachable; refusing");
                Err(ApiError::Unavailable("The service is currently unavailable.".into()))
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
            at_ms: now_ms(),
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

/// An admitted request. Dropping it writes the request to the usage ledger with the output
/// tokens reported so far (a cancelled stream still counts what it produced) — unless it was
/// [refunded](Ticket::refund): a request the engine refused after admission (overloaded, a
/// grammar that does not compile, a failure before any output) takes no quota and writes no
/// ledger row, so a burst of 503s cannot use up a project's minute or day.
pub struct Ticket {
    access: Arc<Access>,
    project_id: String,
    model: String,
    prompt_tokens: i64,
    output_tokens: i64,
    /// What the limiter took (`None` when admitted fail-open without it).
    grant: Option<Grant>,
    /// Refunded or settled: the ledger row is written (or not) already.
    closed: bool,
}

impl Ticket {
    pub fn set_output_tokens(&mut self, n: u32) {
        self.output_tokens = n as i64;
    }

    /// Gives the admission back: the limiter's counts return and no ledger row is written.
    pub fn refund(&mut self) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let Some(grant) = self.grant.take() else { return };
        let (limiter, project, model) = (self.access.limiter.clone(), self.project_id.clone(), self.model.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = limiter.refund(&project, &model, grant).await {
                    tracing::warn!(error = %e, "could not refund a refused request's quota");
                }
            });
        }
    }
}

impl Ticket {
    /// Writes the ledger row now and waits until the store has it, so an answer sent after
    /// this is never lost by a crash (kill -9) that follows it. Later drops write nothing.
    pub async fn settle(&mut self) {
        if let Some((row, now)) = self.take_row() {
            if let Err(e) = self.access.store.record_usage(&row, now).await {
                tracing::error!(error = %e, "could not write the usage ledger");
            }
        }
    }

    /// The ledger row, once: `None` after a refund or an earlier settle.
    fn take_row(&mut self) -> Option<(UsageRow, i64)> {
        if std::mem::replace(&mut self.closed, true) {
            return None;
        }
        let now = now_ms();
        let (day, _) = pacific_day(now);
        let row = UsageRow {
            project_id: self.project_id.clone(),
            model: self.model.clone(),
            day: day.to_string(),
            requests: 1,
            prompt_tokens: self.prompt_tokens,
            candidate_tokens: self.output_tokens,
        };
        Some((row, now))
    }
}

impl Drop for Ticket {
    /// A request that ended without [`Ticket::settle`] (its client left, a handler returned
    /// early) is written in the background.
    fn drop(&mut self) {
        let Some((row, now)) = self.take_row() else { return };
        let store = self.access.store.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.record_usage(&row, now).await {
                    tracing::error!(error = %e, "could not write the usage ledger");
                }
            });
        }
    }
}
