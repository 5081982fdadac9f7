//! The Files API's service: files belong to the caller's project, their records live in the
//! store and their bytes in a [`BlobStore`]; uploads are resumable sessions ([`upload`]),
//! `fileData` parts are read from the caller's files ([`resolve`]), and a sweeper deletes
//! what expired ([`sweeper`]). Another project's file is answered exactly like a missing one
//! (403 PERMISSION_DENIED), so a key learns nothing of files it cannot use.

pub mod document;
pub mod error;
pub mod id;
pub mod resolve;
pub mod sweeper;
pub mod upload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gemd_quota::{Clock, SystemClock};
use gemd_store::blobs::{BlobReader, BlobStore};
use gemd_store::{FileSource, FilesPage, Store, StoredFile};

pub use error::FileError;

use super::error::ApiError;

const HOUR_MS: i64 = 3_600_000;

/// The limits of the Files API; Google's by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    pub max_file_bytes: u64,
    pub max_project_bytes: u64,
    /// How long a file lives after its creation (its `expirationTime`).
    pub retention_ms: i64,
    /// How long an upload session may stay unfinished.
    pub upload_session_ms: i64,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_file_bytes: 2 * 1024 * 1024 * 1024,
            max_project_bytes: 20 * 1024 * 1024 * 1024,
            retention_ms: 48 * HOUR_MS,
            // Google keeps a resumable session for about a week; an unfinished upload here
            // holds staged bytes, so it gets the file's own lifetime.
            upload_session_ms: 48 * HOUR_MS,
        }
    }
}

/// The Files API over one store and one blob store.
pub struct Files {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    limits: FileLimits,
    clock: Arc<dyn Clock>,
    /// Per open session: the lock that serialises its chunks, and its digest so far.
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<upload::Digest>>>>,
}

impl Files {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, limits: FileLimits) -> Self {
        let clock = Arc::new(SystemClock);
        Files { store, blobs, limits, clock, sessions: Mutex::new(HashMap::new()) }
    }

    /// These files reading time from `clock` (tests move it past an expiration).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn limits(&self) -> FileLimits {
        self.limits
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The caller's live file `id`; anything else (unknown, another project's, expired) is
    /// the one refusal.
    pub async fn get(&self, project_id: &str, id: &str) -> Result<StoredFile, ApiError> {
        let no_access = || ApiError::from(FileError::NoAccess { id: id.to_string() });
        let id = id::path_id(id)?;
        let file = self.store.get_file(id).await?.ok_or_else(no_access)?;
        if file.project_id != project_id || file.expires_at_ms <= self.now_ms() {
            return Err(no_access());
        }
        Ok(file)
    }

    /// One page of the caller's files, newest first. The token is the store's cursor, opaque
    /// to clients (URL-safe base64).
    pub async fn list(&self, project_id: &str, page_size: i64, token: Option<&str>) -> Result<FilesPage, ApiError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let after = match token.filter(|t| !t.is_empty()) {
            Some(t) => Some(
                URL_SAFE_NO_PAD.decode(t).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(FileError::PageToken)?,
            ),
            None => None,
        };
        let mut page = match self.store.list_files(project_id, after.as_deref(), page_size).await {
            Err(gemd_store::StoreError::NotFound(_)) => return Err(FileError::PageToken.into()),
            other => other?,
        };
        let now = self.now_ms();
        page.files.retain(|f| f.expires_at_ms > now);
        page.next_cursor = page.next_cursor.map(|c| URL_SAFE_NO_PAD.encode(c.as_bytes()));
        Ok(page)
    }

    /// Deletes the caller's file, its record first: from then on nothing serves it, and
    /// bytes left by a failure in between are only unreachable, never served.
    pub async fn delete(&self, project_id: &str, id: &str) -> Result<(), ApiError> {
        let file = self.get(project_id, id).await?;
        self.remove(&file).await
    }

    async fn remove(&self, file: &StoredFile) -> Result<(), ApiError> {
        self.store.delete_file(&file.id).await?;
        self.blobs.delete(&file.id).await.map_err(FileError::Storage)?;
        Ok(())
    }

    /// A generated file's bytes (uploaded files are not downloadable, as on Google).
    pub async fn download(&self, project_id: &str, id: &str) -> Result<(StoredFile, BlobReader), ApiError> {
        let file = self.get(project_id, id).await?;
        if file.source != FileSource::Generated {
            return Err(FileError::NotDownloadable { id: file.id }.into());
        }
        let bytes = self.blobs.read(&file.id).await.map_err(FileError::Storage)?;
        Ok((file, bytes))
    }

    /// A file's bytes, whatever its source (for reading it into a prompt).
    async fn content(&self, file: &StoredFile) -> Result<BlobReader, ApiError> {
        Ok(self.blobs.read(&file.id).await.map_err(FileError::Storage)?)
    }
}
