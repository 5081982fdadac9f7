//! Deletes what expired: files past their `expirationTime` (record, then bytes), upload
//! sessions left unfinished past theirs (record, then staged bytes), and context caches past
//! their `expireTime` (one sweeper for every expiring resource of the store). Reads already refuse
//! expired files, so the sweep only frees space; it runs in batches so a large backlog never
//! holds one long query.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::Files;
use crate::service::error::ApiError;

/// Rows handled per query.
const BATCH: i64 = 100;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub files: usize,
    pub uploads: usize,
    /// Expired context caches (rows only: their contents live in the row).
    pub caches: u64,
}

impl Files {
    /// Removes every file and session expired by now.
    pub async fn sweep(&self) -> Result<Swept, ApiError> {
        let mut swept = Swept::default();
        loop {
            let expired = self.store.expired_files(self.now_ms(), BATCH).await?;
            for file in &expired {
                self.remove(file).await?;
            }
            swept.files += expired.len();
            if (expired.len() as i64) < BATCH {
                break;
            }
        }
        loop {
            let expired = self.store.expired_uploads(self.now_ms(), BATCH).await?;
            for session in &expired {
                self.drop_session(&session.id).await?;
            }
            swept.uploads += expired.len();
            if (expired.len() as i64) < BATCH {
                break;
            }
        }
        swept.caches = self.store.delete_expired_caches(self.now_ms()).await?;
        Ok(swept)
    }
}

/// Sweeps every `every` for as long as `files` lives (the task holds it weakly, so dropping
/// the server's state ends it). Replicas sweeping the same store at once is harmless: each
/// removal is idempotent.
pub fn spawn(files: &Arc<Files>, every: Duration) -> tokio::task::JoinHandle<()> {
    let files: Weak<Files> = Arc::downgrade(files);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(files) = files.upgrade() else { return };
            match files.sweep().await {
                Ok(s) if s.files + s.uploads > 0 || s.caches > 0 => {
                    tracing::info!(
                        files = s.files,
                        uploads = s.uploads,
                        caches = s.caches,
                        "expired files and caches swept"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping expired files failed; retrying at the next tick"),
            }
        }
    })
}
