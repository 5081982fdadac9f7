//! An admitted request's RAII ticket: it holds what the limiter granted and writes the usage
//! ledger row when the request ends, or gives the admission back when nothing was served.

use std::sync::Arc;

use gemd_quota::{pacific_day, Grant};
use gemd_store::UsageRow;

use super::Access;

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
    /// The part of the prompt served from a context cache.
    cached_tokens: i64,
    /// What the limiter took (`None` when admitted fail-open without it).
    grant: Option<Grant>,
    /// Refunded or settled: the ledger row is written (or not) already.
    closed: bool,
}

impl Ticket {
    pub(super) fn new(
        access: Arc<Access>,
        project_id: &str,
        model: &str,
        prompt_tokens: u64,
        grant: Option<Grant>,
    ) -> Self {
        let (project_id, model, prompt_tokens) = (project_id.to_string(), model.to_string(), prompt_tokens as i64);
        Ticket { access, project_id, model, prompt_tokens, output_tokens: 0, cached_tokens: 0, grant, closed: false }
    }

    pub fn set_output_tokens(&mut self, n: u32) {
        self.output_tokens = n as i64;
    }

    /// How many of the prompt's tokens came from a context cache (explicit or implicit).
    pub fn set_cached_tokens(&mut self, n: u32) {
        self.cached_tokens = n as i64;
    }

    /// The prompt's tokens as the backend that answered counted them (an upstream's usage),
    /// for the ledger; the admission was made on gemd's own count.
    pub fn set_prompt_tokens(&mut self, n: u32) {
        self.prompt_tokens = n as i64;
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
        let now = self.access.now_ms();
        let (day, _) = pacific_day(now);
        let row = UsageRow {
            project_id: self.project_id.clone(),
            model: self.model.clone(),
            day: day.to_string(),
            requests: 1,
            prompt_tokens: self.prompt_tokens,
            candidate_tokens: self.output_tokens,
            cached_tokens: self.cached_tokens,
            ..UsageRow::default()
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
