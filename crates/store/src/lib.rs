//! gemd-store: projects, API keys, the daily usage ledger, the Files API's records and
//! bytes ([`files`], [`blobs`]), and context caches ([`caches`]). SQLite (WAL, under the gemd
//! home) by default; PostgreSQL by URL for replicas. Both run the same SQL through `Db`, and
//! the same test suite (tests/store.rs) runs against both.

pub mod blobs;
pub mod caches;
pub mod db;
pub mod files;
pub mod model;
mod paging;
pub mod postgres;
pub mod private_file;
pub mod schema;
pub mod sql_store;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

pub use caches::{CacheStore, CachesPage, StoredCache};
pub use files::{FileSource, FileState, FileStore, FilesPage, StoredFile, UploadSession};
pub use model::{ApiKey, HourlyRow, NewKey, Project, Refusal, Tier, UsageRow};
pub use sql_store::{digest_hex, new_secret, SqlStore};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("store backend: {0}")]
    Backend(String),
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait Store: FileStore + CacheStore + Send + Sync + 'static {
    /// Creates a project (`id` chosen by the caller or generated `gen-lang-client-…`).
    async fn create_project(&self, id: Option<&str>, display_name: &str, tier: Tier) -> Result<Project, StoreError>;
    /// Creates the project if it does not exist; returns it either way.
    async fn ensure_project(&self, id: &str, display_name: &str, tier: Tier) -> Result<Project, StoreError>;
    async fn get_project(&self, id: &str) -> Result<Option<Project>, StoreError>;
    async fn list_projects(&self) -> Result<Vec<Project>, StoreError>;
    async fn set_tier(&self, id: &str, tier: Tier) -> Result<Project, StoreError>;
    async fn set_logging_opt_out(&self, id: &str, opt_out: bool) -> Result<Project, StoreError>;
    /// Creates a key; the returned secret is never stored.
    async fn create_key(&self, project_id: &str, display_name: &str) -> Result<NewKey, StoreError>;
    async fn list_keys(&self, project_id: Option<&str>) -> Result<Vec<ApiKey>, StoreError>;
    async fn count_keys(&self) -> Result<i64, StoreError>;
    async fn revoke_key(&self, key_id: &str) -> Result<ApiKey, StoreError>;
    /// The live key a secret belongs to, with its project (`None` for unknown or revoked keys).
    async fn authenticate(&self, secret: &str) -> Result<Option<(ApiKey, Project)>, StoreError>;
    async fn touch_key(&self, key_id: &str, at_ms: i64) -> Result<(), StoreError>;
    /// Adds to one (project, model, day) row of the ledger and to the row of the hour of `at_ms`.
    async fn record_usage(&self, row: &UsageRow, at_ms: i64) -> Result<(), StoreError>;
    async fn usage(&self, project_id: Option<&str>, since_day: Option<&str>) -> Result<Vec<UsageRow>, StoreError>;
    /// One project's hourly rows from the hour containing `since_ms` on, oldest first.
    async fn hourly_usage(&self, project_id: &str, since_ms: i64) -> Result<Vec<HourlyRow>, StoreError>;
    /// Remembers a quota refusal; refusals older than a week are dropped.
    async fn record_refusal(&self, refusal: &Refusal) -> Result<(), StoreError>;
    /// A project's latest refusals, newest first.
    async fn recent_refusals(&self, project_id: &str, limit: i64) -> Result<Vec<Refusal>, StoreError>;
}

/// Opens the store a URL names: `postgres://…` / `postgresql://…`, `sqlite://PATH`, or the
/// default SQLite file under `home`.
pub async fn open(url: Option<&str>, home: &Path) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Ok(Arc::new(SqlStore::open(postgres::Postgres::connect(u).await?).await?))
        }
        Some(u) => {
            let path = u.strip_prefix("sqlite://").unwrap_or(u);
            Ok(Arc::new(SqlStore::open(sqlite::Sqlite::open(Path::new(path))?).await?))
        }
        None => Ok(Arc::new(SqlStore::open(sqlite::Sqlite::open(&home.join("gemd.sqlite3"))?).await?)),
    }
}
