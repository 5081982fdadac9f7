//! The store's logic, written once over `Db`: ids and key generation, constant-time key
//! lookup, the usage ledger's upserts, migrations. Creation and revocation times come from the
//! injected [`Clock`] (the system clock unless [`SqlStore::with_clock`] says otherwise).

use std::sync::Arc;

use async_trait::async_trait;
use gemd_quota::{Clock, SystemClock};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::{Db, Row, Val};
use crate::model::{ApiKey, HourlyRow, NewKey, Project, Refusal, Tier, UsageRow};
use crate::schema::{CREATE_VERSION_TABLE, MIGRATIONS};
use crate::{Store, StoreError};

const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of a key kept in clear to recognise it (`AIza` + 4).
pub const PREFIX_LEN: usize = 8;

fn random(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

/// A new API key in Google's shape: `AIza` + 35 URL-safe characters.
pub fn new_secret() -> String {
    format!("AIza{}", random(URL_SAFE, 35))
}

pub fn digest_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

const HOUR_MS: i64 = 3_600_000;
/// How long refusals are remembered (the console shows recent ones).
const REFUSALS_KEPT_MS: i64 = 7 * 24 * HOUR_MS;

/// An upsert adding one request's counts to a ledger table keyed by (project, model, period).
fn add_usage_sql(table: &str, period: &str) -> String {
    format!(
        "INSERT INTO {table} (project_id, model, {period}, requests, prompt_tokens, candidate_tokens,
           cached_tokens, cache_token_seconds, batch_requests) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (project_id, model, {period}) DO UPDATE SET
           requests = {table}.requests + excluded.requests,
           prompt_tokens = {table}.prompt_tokens + excluded.prompt_tokens,
           candidate_tokens = {table}.candidate_tokens + excluded.candidate_tokens,
           cached_tokens = {table}.cached_tokens + excluded.cached_tokens,
           cache_token_seconds = {table}.cache_token_seconds + excluded.cache_token_seconds,
           batch_requests = {table}.batch_requests + excluded.batch_requests"
    )
}

pub struct SqlStore<D: Db> {
    pub(crate) db: D,
    clock: Arc<dyn Clock>,
}

const PROJECT_COLS: &str = "id, display_name, tier, logging_opt_out, created_at";
const KEY_COLS: &str = "id, project_id, display_name, prefix, created_at, last_used_at, revoked_at";

fn project(row: &Row) -> Result<Project, StoreError> {
    Ok(Project {
        id: row[0].text()?,
        display_name: row[1].text()?,
        tier: row[2].text()?.parse().map_err(StoreError::Corrupt)?,
        logging_opt_out: row[3].bool()?,
        created_at_ms: row[4].int()?,
    })
}

fn key(row: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row[0].text()?,
        project_id: row[1].text()?,
        display_name: row[2].text()?,
        prefix: row[3].text()?,
        created_at_ms: row[4].int()?,
        last_used_at_ms: row[5].opt_int()?,
        revoked_at_ms: row[6].opt_int()?,
    })
}

impl<D: Db> SqlStore<D> {
    /// Wraps a connection and brings its schema up to date.
    pub async fn open(db: D) -> Result<Self, StoreError> {
        // Under the lock, a process that waited for another's migration reads its version and
        // has nothing left to do.
        db.lock_migrations().await?;
        let migrated = Self::migrate(&db).await;
        let unlocked = db.unlock_migrations().await;
        migrated.and(unlocked)?;
        Ok(SqlStore { db, clock: Arc::new(SystemClock) })
    }

    async fn migrate(db: &D) -> Result<(), StoreError> {
        db.batch(CREATE_VERSION_TABLE).await?;
        let rows = db.query("SELECT MAX(version) FROM gemd_schema", vec![]).await?;
        let current = rows.first().and_then(|r| r[0].opt_int().ok().flatten()).unwrap_or(0) as usize;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(current) {
            db.batch(migration).await?;
            db.execute("INSERT INTO gemd_schema (version) VALUES ($1)", vec![Val::Int(i as i64 + 1)]).await?;
            tracing::info!(version = i + 1, "store schema migrated");
        }
        Ok(())
    }

    /// This store reading time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    async fn one_project(&self, id: &str) -> Result<Project, StoreError> {
        self.get_project(id).await?.ok_or_else(|| StoreError::NotFound(format!("project {id}")))
    }
}

#[async_trait]
impl<D: Db> Store for SqlStore<D> {
    async fn create_project(&self, id: Option<&str>, display_name: &str, tier: Tier) -> Result<Project, StoreError> {
        let id = id.map(str::to_string).unwrap_or_else(|| format!("gen-lang-client-{}", random(ID_CHARS, 10)));
        let changed = self
            .db
            .execute(
                "INSERT INTO projects (id, display_name, tier, logging_opt_out, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                vec![id.clone().into(), display_name.into(), tier.as_str().into(), false.into(), self.now_ms().into()],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict(format!("project {id} already exists")));
        }
        self.one_project(&id).await
    }

    async fn ensure_project(&self, id: &str, display_name: &str, tier: Tier) -> Result<Project, StoreError> {
        self.db
            .execute(
                "INSERT INTO projects (id, display_name, tier, logging_opt_out, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                vec![id.into(), display_name.into(), tier.as_str().into(), false.into(), self.now_ms().into()],
            )
            .await?;
        self.one_project(id).await
    }

    async fn get_project(&self, id: &str) -> Result<Option<Project>, StoreError> {
        let rows =
            self.db.query(&format!("SELECT {PROJECT_COLS} FROM projects WHERE id = $1"), vec![id.into()]).await?;
        rows.first().map(project).transpose()
    }

    async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        let rows =
            self.db.query(&format!("SELECT {PROJECT_COLS} FROM projects ORDER BY created_at, id"), vec![]).await?;
        rows.iter().map(project).collect()
    }

    async fn set_tier(&self, id: &str, tier: Tier) -> Result<Project, StoreError> {
        if self.db.execute("UPDATE projects SET tier = $1 WHERE id = $2", vec![tier.as_str().into(), id.into()]).await?
            == 0
        {
            return Err(StoreError::NotFound(format!("project {id}")));
        }
        self.one_project(id).await
    }

    async fn set_logging_opt_out(&self, id: &str, opt_out: bool) -> Result<Project, StoreError> {
        if self
            .db
            .execute("UPDATE projects SET logging_opt_out = $1 WHERE id = $2", vec![opt_out.into(), id.into()])
            .await?
            == 0
        {
            return Err(StoreError::NotFound(format!("project {id}")));
        }
        self.one_project(id).await
    }

    async fn create_key(&self, project_id: &str, display_name: &str) -> Result<NewKey, StoreError> {
        self.one_project(project_id).await?;
        let secret = new_secret();
        let id = format!("key-{}", random(ID_CHARS, 12));
        let prefix = secret[..PREFIX_LEN].to_string();
        self.db
            .execute(
                "INSERT INTO api_keys (id, project_id, display_name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                vec![id.clone().into(), project_id.into(), display_name.into(), prefix.into(), digest_hex(&secret).into(), self.now_ms().into()],
            )
            .await?;
        let rows = self.db.query(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"), vec![id.into()]).await?;
        Ok(NewKey { key: key(&rows[0])?, secret })
    }

    async fn list_keys(&self, project_id: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
        let rows = match project_id {
            Some(p) => {
                self.db
                    .query(
                        &format!("SELECT {KEY_COLS} FROM api_keys WHERE project_id = $1 ORDER BY created_at, id"),
                        vec![p.into()],
                    )
                    .await?
            }
            None => self.db.query(&format!("SELECT {KEY_COLS} FROM api_keys ORDER BY created_at, id"), vec![]).await?,
        };
        rows.iter().map(key).collect()
    }

    async fn count_keys(&self) -> Result<i64, StoreError> {
        let rows = self.db.query("SELECT COUNT(*) FROM api_keys", vec![]).await?;
        rows[0][0].int()
    }

    async fn revoke_key(&self, key_id: &str) -> Result<ApiKey, StoreError> {
        self.db
            .execute(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                vec![self.now_ms().into(), key_id.into()],
            )
            .await?;
        let rows =
            self.db.query(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"), vec![key_id.into()]).await?;
        rows.first().map(key).transpose()?.ok_or_else(|| StoreError::NotFound(format!("key {key_id}")))
    }

    async fn authenticate(&self, secret: &str) -> Result<Option<(ApiKey, Project)>, StoreError> {
        if secret.len() < PREFIX_LEN || !secret.is_char_boundary(PREFIX_LEN) {
            return Ok(None);
        }
        let wanted = digest_hex(secret);
        let rows = self
            .db
            .query(
                &format!("SELECT {KEY_COLS}, hash FROM api_keys WHERE prefix = $1"),
                vec![secret[..PREFIX_LEN].into()],
            )
            .await?;
        // Compare every candidate's digest in constant time; the prefix only narrows the search.
        let mut found = None;
        for row in &rows {
            let hash = row[7].text()?;
            if bool::from(hash.as_bytes().ct_eq(wanted.as_bytes())) {
                found = Some(key(row)?);
            }
        }
        let Some(k) = found.filter(|k| k.revoked_at_ms.is_none()) else { return Ok(None) };
        let p = self.one_project(&k.project_id).await?;
        Ok(Some((k, p)))
    }

    async fn touch_key(&self, key_id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.db
            .execute("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", vec![at_ms.into(), key_id.into()])
            .await?;
        Ok(())
    }

    async fn record_usage(&self, row: &UsageRow, at_ms: i64) -> Result<(), StoreError> {
        let counts = |period: Val| {
            vec![
                row.project_id.clone().into(),
                row.model.clone().into(),
                period,
                row.requests.into(),
                row.prompt_tokens.into(),
                row.candidate_tokens.into(),
                row.cached_tokens.into(),
                row.cache_token_seconds.into(),
                row.batch_requests.into(),
            ]
        };
        self.db.execute(&add_usage_sql("usage_daily", "day"), counts(row.day.clone().into())).await?;
        self.db
            .execute(
                &add_usage_sql("usage_hourly", "hour_start"),
                counts(at_ms.div_euclid(HOUR_MS).saturating_mul(HOUR_MS).into()),
            )
            .await?;
        Ok(())
    }

    async fn hourly_usage(&self, project_id: &str, since_ms: i64) -> Result<Vec<HourlyRow>, StoreError> {
        let since = since_ms.div_euclid(HOUR_MS) * HOUR_MS;
        let rows = self
            .db
            .query(
                "SELECT model, hour_start, requests, prompt_tokens, candidate_tokens, cached_tokens,
                   cache_token_seconds, batch_requests FROM usage_hourly
                 WHERE project_id = $1 AND hour_start >= $2 ORDER BY hour_start, model",
                vec![project_id.into(), since.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HourlyRow {
                    model: r[0].text()?,
                    hour_start_ms: r[1].int()?,
                    requests: r[2].int()?,
                    prompt_tokens: r[3].int()?,
                    candidate_tokens: r[4].int()?,
                    cached_tokens: r[5].int()?,
                    cache_token_seconds: r[6].int()?,
                    batch_requests: r[7].int()?,
                })
            })
            .collect()
    }

    async fn record_refusal(&self, r: &Refusal) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO refusals (project_id, model, at, metrics, retry_after_ms) VALUES ($1, $2, $3, $4, $5)",
                vec![
                    r.project_id.clone().into(),
                    r.model.clone().into(),
                    r.at_ms.into(),
                    r.metrics.clone().into(),
                    r.retry_after_ms.into(),
                ],
            )
            .await?;
        self.db.execute("DELETE FROM refusals WHERE at < $1", vec![(r.at_ms - REFUSALS_KEPT_MS).into()]).await?;
        Ok(())
    }

    async fn recent_refusals(&self, project_id: &str, limit: i64) -> Result<Vec<Refusal>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT project_id, model, at, metrics, retry_after_ms FROM refusals WHERE project_id = $1 ORDER BY at DESC LIMIT $2",
                vec![project_id.into(), limit.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Refusal {
                    project_id: r[0].text()?,
                    model: r[1].text()?,
                    at_ms: r[2].int()?,
                    metrics: r[3].text()?,
                    retry_after_ms: r[4].int()?,
                })
            })
            .collect()
    }

    async fn usage(&self, project_id: Option<&str>, since_day: Option<&str>) -> Result<Vec<UsageRow>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT project_id, model, day, requests, prompt_tokens, candidate_tokens, cached_tokens,
                   cache_token_seconds, batch_requests FROM usage_daily
                 WHERE ($1 = '' OR project_id = $1) AND day >= $2 ORDER BY day, project_id, model",
                vec![project_id.unwrap_or("").into(), since_day.unwrap_or("").into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageRow {
                    project_id: r[0].text()?,
                    model: r[1].text()?,
                    day: r[2].text()?,
                    requests: r[3].int()?,
                    prompt_tokens: r[4].int()?,
                    candidate_tokens: r[5].int()?,
                    cached_tokens: r[6].int()?,
                    cache_token_seconds: r[7].int()?,
                    batch_requests: r[8].int()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use gemd_quota::ManualClock;

    use super::*;
    use crate::sqlite::Sqlite;

    #[tokio::test]
    async fn times_come_from_the_injected_clock() {
        let clock = Arc::new(ManualClock::at(1_700_000_000_000));
        let store = SqlStore::open(Sqlite::in_memory().unwrap()).await.unwrap().with_clock(clock.clone());
        let project = store.create_project(None, "p", Tier::Free).await.unwrap();
        assert_eq!(project.created_at_ms, 1_700_000_000_000);
        clock.advance_ms(5);
        let key = store.create_key(&project.id, "k").await.unwrap().key;
        assert_eq!(key.created_at_ms, 1_700_000_000_005);
        clock.advance_ms(5);
        assert_eq!(store.revoke_key(&key.id).await.unwrap().revoked_at_ms, Some(1_700_000_000_010));
    }
}
