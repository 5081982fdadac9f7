//! The Files API's metadata: the files a project uploaded (their bytes live in a
//! [`crate::blobs::BlobStore`], never here) and the resumable upload sessions still open, kept
//! in the store so a session survives a restart and every replica sees the same files.

mod model;
mod sql;

use async_trait::async_trait;

pub use model::{FileSource, FileState, FilesPage, StoredFile, UploadSession};

use crate::StoreError;

#[async_trait]
pub trait FileStore: Send + Sync {
    /// Records a file whose bytes are already committed; `Conflict` when its id is taken (by
    /// any project: file names are global, as `files/{id}` URIs are).
    async fn insert_file(&self, file: &StoredFile) -> Result<(), StoreError>;
    async fn get_file(&self, id: &str) -> Result<Option<StoredFile>, StoreError>;
    /// One page of a project's files, newest first, after the cursor of the previous page.
    async fn list_files(&self, project_id: &str, after: Option<&str>, limit: i64) -> Result<FilesPage, StoreError>;
    /// Removes a file's record; whether there was one.
    async fn delete_file(&self, id: &str) -> Result<bool, StoreError>;
    /// The bytes a project's files hold, for its storage limit.
    async fn project_file_bytes(&self, project_id: &str) -> Result<i64, StoreError>;
    /// Files whose expiration time is at or before `now_ms`, oldest first.
    async fn expired_files(&self, now_ms: i64, limit: i64) -> Result<Vec<StoredFile>, StoreError>;
    async fn create_upload(&self, session: &UploadSession) -> Result<(), StoreError>;
    async fn get_upload(&self, id: &str) -> Result<Option<UploadSession>, StoreError>;
    /// Records how many bytes of a session are durably staged.
    async fn set_upload_received(&self, id: &str, received: i64) -> Result<(), StoreError>;
    async fn delete_upload(&self, id: &str) -> Result<bool, StoreError>;
    /// Sessions that expired unfinished at or before `now_ms`.
    async fn expired_uploads(&self, now_ms: i64, limit: i64) -> Result<Vec<UploadSession>, StoreError>;
}
