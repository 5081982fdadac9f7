//! Context caches (`cachedContents/{id}`): what a project asked to keep in front of its
//! requests (contents, system instruction, tools, tool config, as the JSON the request gave),
//! the model it is for, its size in tokens and its expiry. Kept in the store, not only in an
//! engine's memory, so a restart or another replica serves the same cache.

mod sql;

use async_trait::async_trait;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCache {
    /// The `{id}` of `cachedContents/{id}`.
    pub id: String,
    pub project_id: String,
    /// `models/{id}` as the cache's creation named it (the public id).
    pub model: String,
    pub display_name: String,
    /// The cached part of a request, as JSON: `contents`, `systemInstruction`, `tools`,
    /// `toolConfig` (each present only when the creation gave it).
    pub body: String,
    pub total_tokens: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
}

/// One page of a listing, and the cursor of the next when there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachesPage {
    pub caches: Vec<StoredCache>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait CacheStore: Send + Sync {
    async fn insert_cache(&self, cache: &StoredCache) -> Result<(), StoreError>;
    async fn get_cache(&self, id: &str) -> Result<Option<StoredCache>, StoreError>;
    /// One page of a project's caches, newest first, after the cursor of the previous page.
    async fn list_caches(&self, project_id: &str, after: Option<&str>, limit: i64) -> Result<CachesPage, StoreError>;
    /// Sets a cache's expiry; whether there was one.
    async fn set_cache_expiry(&self, id: &str, expires_at_ms: i64, updated_at_ms: i64) -> Result<bool, StoreError>;
    /// Removes a cache; whether there was one.
    async fn delete_cache(&self, id: &str) -> Result<bool, StoreError>;
    /// Removes the caches expired at `now_ms`; how many.
    async fn delete_expired_caches(&self, now_ms: i64) -> Result<u64, StoreError>;
}
