//! [`FileStore`] over the SQL both backends share: file records and upload sessions, one
//! table each (migration 3 of [`crate::schema`]).

use async_trait::async_trait;

use super::{FileStore, FilesPage, StoredFile, UploadSession};
use crate::db::{Db, Row, Val};
use crate::{paging, SqlStore, StoreError};

const FILE_COLS: &str = "id, project_id, display_name, mime_type, size_bytes, sha256, state, source, error, \
                         created_at, updated_at, expires_at";
const UPLOAD_COLS: &str =
    "id, project_id, file_id, display_name, mime_type, declared_size, received, created_at, expires_at";

fn opt_text(v: &Val) -> Result<Option<String>, StoreError> {
    match v {
        Val::Null => Ok(None),
        v => v.text().map(Some),
    }
}

fn file(row: &Row) -> Result<StoredFile, StoreError> {
    Ok(StoredFile {
        id: row[0].text()?,
        project_id: row[1].text()?,
        display_name: row[2].text()?,
        mime_type: row[3].text()?,
        size_bytes: row[4].int()?,
        sha256_base64: row[5].text()?,
        state: row[6].text()?.parse().map_err(StoreError::Corrupt)?,
        source: row[7].text()?.parse().map_err(StoreError::Corrupt)?,
        error: opt_text(&row[8])?,
        created_at_ms: row[9].int()?,
        updated_at_ms: row[10].int()?,
        expires_at_ms: row[11].int()?,
    })
}

fn upload(row: &Row) -> Result<UploadSession, StoreError> {
    Ok(UploadSession {
        id: row[0].text()?,
        project_id: row[1].text()?,
        file_id: row[2].text()?,
        display_name: row[3].text()?,
        mime_type: row[4].text()?,
        declared_size: row[5].opt_int()?,
        received: row[6].int()?,
        created_at_ms: row[7].int()?,
        expires_at_ms: row[8].int()?,
    })
}

#[async_trait]
impl<D: Db> FileStore for SqlStore<D> {
    async fn insert_file(&self, f: &StoredFile) -> Result<(), StoreError> {
        let changed = self
            .db
            .execute(
                &format!(
                    "INSERT INTO files ({FILE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (id) DO NOTHING"
                ),
                vec![
                    f.id.clone().into(),
                    f.project_id.clone().into(),
                    f.display_name.clone().into(),
                    f.mime_type.clone().into(),
                    f.size_bytes.into(),
                    f.sha256_base64.clone().into(),
                    f.state.as_str().into(),
                    f.source.as_str().into(),
                    f.error.clone().map(Val::Text).unwrap_or(Val::Null),
                    f.created_at_ms.into(),
                    f.updated_at_ms.into(),
                    f.expires_at_ms.into(),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict(format!("files/{} already exists", f.id)));
        }
        Ok(())
    }

    async fn get_file(&self, id: &str) -> Result<Option<StoredFile>, StoreError> {
        let rows = self.db.query(&format!("SELECT {FILE_COLS} FROM files WHERE id = $1"), vec![id.into()]).await?;
        rows.first().map(file).transpose()
    }

    async fn list_files(&self, project_id: &str, after: Option<&str>, limit: i64) -> Result<FilesPage, StoreError> {
        let (at, id) = paging::start(after)?;
        // One row more than the page, to know whether another page follows.
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {FILE_COLS} FROM files WHERE project_id = $1 AND (created_at < $2 OR (created_at = $2 AND id > $3)) \
                     ORDER BY created_at DESC, id LIMIT $4"
                ),
                vec![project_id.into(), at.into(), id.into(), (limit + 1).into()],
            )
            .await?;
        let files = rows.iter().map(file).collect::<Result<Vec<_>, _>>()?;
        let (files, next_cursor) = paging::page(files, limit, |r| (r.created_at_ms, r.id.as_str()));
        Ok(FilesPage { files, next_cursor })
    }

    async fn delete_file(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute("DELETE FROM files WHERE id = $1", vec![id.into()]).await? > 0)
    }

    async fn project_file_bytes(&self, project_id: &str) -> Result<i64, StoreError> {
        // PostgreSQL sums BIGINT as NUMERIC: cast back so both backends read an integer.
        let rows = self
            .db
            .query(
                "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM files WHERE project_id = $1",
                vec![project_id.into()],
            )
            .await?;
        rows.first().map(|r| r[0].int()).unwrap_or(Ok(0))
    }

    async fn expired_files(&self, now_ms: i64, limit: i64) -> Result<Vec<StoredFile>, StoreError> {
        let rows = self
            .db
            .query(
                &format!("SELECT {FILE_COLS} FROM files WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2"),
                vec![now_ms.into(), limit.into()],
            )
            .await?;
        rows.iter().map(file).collect()
    }

    async fn create_upload(&self, s: &UploadSession) -> Result<(), StoreError> {
        self.db
            .execute(
                &format!("INSERT INTO upload_sessions ({UPLOAD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                vec![
                    s.id.clone().into(),
                    s.project_id.clone().into(),
                    s.file_id.clone().into(),
                    s.display_name.clone().into(),
                    s.mime_type.clone().into(),
                    s.declared_size.into(),
                    s.received.into(),
                    s.created_at_ms.into(),
                    s.expires_at_ms.into(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn get_upload(&self, id: &str) -> Result<Option<UploadSession>, StoreError> {
        let rows =
            self.db.query(&format!("SELECT {UPLOAD_COLS} FROM upload_sessions WHERE id = $1"), vec![id.into()]).await?;
        rows.first().map(upload).transpose()
    }

    async fn set_upload_received(&self, id: &str, received: i64) -> Result<(), StoreError> {
        self.db
            .execute("UPDATE upload_sessions SET received = $1 WHERE id = $2", vec![received.into(), id.into()])
            .await?;
        Ok(())
    }

    async fn delete_upload(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute("DELETE FROM upload_sessions WHERE id = $1", vec![id.into()]).await? > 0)
    }

    async fn expired_uploads(&self, now_ms: i64, limit: i64) -> Result<Vec<UploadSession>, StoreError> {
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {UPLOAD_COLS} FROM upload_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2"
                ),
                vec![now_ms.into(), limit.into()],
            )
            .await?;
        rows.iter().map(upload).collect()
    }
}
