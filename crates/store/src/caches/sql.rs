//! [`CacheStore`] over the SQL both backends share (migration 4 of [`crate::schema`]).

use async_trait::async_trait;

use super::{CacheStore, CachesPage, StoredCache};
use crate::db::{Db, Row};
use crate::{paging, SqlStore, StoreError};

const COLS: &str = "id, project_id, model, display_name, body, total_tokens, created_at, updated_at, expires_at";

fn cache(row: &Row) -> Result<StoredCache, StoreError> {
    Ok(StoredCache {
        id: row[0].text()?,
        project_id: row[1].text()?,
        model: row[2].text()?,
        display_name: row[3].text()?,
        body: row[4].text()?,
        total_tokens: row[5].int()?,
        created_at_ms: row[6].int()?,
        updated_at_ms: row[7].int()?,
        expires_at_ms: row[8].int()?,
    })
}

#[async_trait]
impl<D: Db> CacheStore for SqlStore<D> {
    async fn insert_cache(&self, c: &StoredCache) -> Result<(), StoreError> {
        let changed = self
            .db
            .execute(
                &format!(
                    "INSERT INTO cached_contents ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (id) DO NOTHING"
                ),
                vec![
                    c.id.clone().into(),
                    c.project_id.clone().into(),
                    c.model.clone().into(),
                    c.display_name.clone().into(),
                    c.body.clone().into(),
                    c.total_tokens.into(),
                    c.created_at_ms.into(),
                    c.updated_at_ms.into(),
                    c.expires_at_ms.into(),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict(format!("cachedContents/{} already exists", c.id)));
        }
        Ok(())
    }

    async fn get_cache(&self, id: &str) -> Result<Option<StoredCache>, StoreError> {
        let rows = self.db.query(&format!("SELECT {COLS} FROM cached_contents WHERE id = $1"), vec![id.into()]).await?;
        rows.first().map(cache).transpose()
    }

    async fn list_caches(&self, project_id: &str, after: Option<&str>, limit: i64) -> Result<CachesPage, StoreError> {
        let (at, id) = paging::start(after)?;
        // One row more than the page, to know whether another page follows.
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {COLS} FROM cached_contents WHERE project_id = $1 \
                     AND (created_at < $2 OR (created_at = $2 AND id > $3)) ORDER BY created_at DESC, id LIMIT $4"
                ),
                vec![project_id.into(), at.into(), id.into(), (limit + 1).into()],
            )
            .await?;
        let caches = rows.iter().map(cache).collect::<Result<Vec<_>, _>>()?;
        let (caches, next_cursor) = paging::page(caches, limit, |r| (r.created_at_ms, r.id.as_str()));
        Ok(CachesPage { caches, next_cursor })
    }

    async fn set_cache_expiry(&self, id: &str, expires_at_ms: i64, updated_at_ms: i64) -> Result<bool, StoreError> {
        let changed = self
            .db
            .execute(
                "UPDATE cached_contents SET expires_at = $1, updated_at = $2 WHERE id = $3",
                vec![expires_at_ms.into(), updated_at_ms.into(), id.into()],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn delete_cache(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute("DELETE FROM cached_contents WHERE id = $1", vec![id.into()]).await? > 0)
    }

    async fn delete_expired_caches(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(self.db.execute("DELETE FROM cached_contents WHERE expires_at <= $1", vec![now_ms.into()]).await?)
    }
}
