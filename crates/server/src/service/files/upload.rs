//! Uploads: a resumable session per file (Google's protocol: start, chunks at the offset
//! received so far, query, cancel, finalize), and whole uploads (media, multipart, metadata
//! only) as a session started and finalised in one call. Bytes stream into the session's
//! staging object with the SHA-256 computed on the way; the session's `received` count is
//! advanced in the store only after the bytes are synced, so after a kill the store never
//! claims more than storage holds, and the next chunk at `received` overwrites whatever was
//! cut. The file's record is written only once its bytes are committed.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use gemd_store::blobs::BlobError;
use gemd_store::{FileSource, FileState, StoredFile, UploadSession};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt;

use super::error::FileError;
use super::{id, Files};
use crate::service::error::ApiError;

/// A request body as the service reads it: pieces, or why the next could not be read.
pub type BodyStream<'a> = BoxStream<'a, Result<Bytes, String>>;

/// Google's limit on a file's display name.
const MAX_DISPLAY_NAME: usize = 512;
const OCTET_STREAM: &str = "application/octet-stream";

/// What a start (or a whole upload) declares.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    /// `file.name`: the id the caller chooses (`files/{id}`), or none for a generated one.
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub mime_type: Option<String>,
    /// `X-Goog-Upload-Header-Content-Length`.
    pub declared_size: Option<u64>,
}

/// Where a session stands after a chunk.
#[derive(Debug)]
pub enum Progress {
    Active { received: u64 },
    Final(StoredFile),
}

/// A session's SHA-256 over its first `offset` bytes. Kept in memory between chunks; after a
/// restart (or on another replica) it is rebuilt from the staged bytes.
pub struct Digest {
    offset: u64,
    hasher: Sha256,
}

impl Default for Digest {
    fn default() -> Self {
        Digest { offset: 0, hasher: Sha256::new() }
    }
}

impl Files {
    /// Opens a session for a file of the caller's project.
    pub async fn start_upload(&self, project_id: &str, new: NewUpload) -> Result<UploadSession, ApiError> {
        let file_id = match new.name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => id::chosen_id(name)?,
            None => id::new_file_id(),
        };
        let display_name = new.display_name.unwrap_or_default();
        if display_name.chars().count() > MAX_DISPLAY_NAME {
            let problem = format!("displayName is longer than {MAX_DISPLAY_NAME} characters");
            return Err(FileError::BadUpload { problem }.into());
        }
        if let Some(declared) = new.declared_size {
            self.check_room(project_id, declared).await?;
        }
        if self.store.get_file(&file_id).await?.is_some() {
            return Err(FileError::AlreadyExists { id: file_id }.into());
        }
        let now = self.now_ms();
        let session = UploadSession {
            id: id::new_upload_id(),
            project_id: project_id.to_string(),
            file_id,
            display_name,
            mime_type: new.mime_type.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| OCTET_STREAM.to_string()),
            declared_size: new.declared_size.map(|n| n as i64),
            received: 0,
            created_at_ms: now,
            expires_at_ms: now + self.limits.upload_session_ms,
        };
        self.store.create_upload(&session).await?;
        Ok(session)
    }

    /// Refuses `size` more bytes for the project when they exceed a limit.
    async fn check_room(&self, project_id: &str, size: u64) -> Result<(), ApiError> {
        if size > self.limits.max_file_bytes {
            return Err(FileError::FileTooLarge { limit: self.limits.max_file_bytes }.into());
        }
        let held = self.store.project_file_bytes(project_id).await?.max(0) as u64;
        if held.saturating_add(size) > self.limits.max_project_bytes {
            return Err(FileError::ProjectFull { limit: self.limits.max_project_bytes }.into());
        }
        Ok(())
    }

    /// The open session `upload_id` names.
    pub async fn session(&self, upload_id: &str) -> Result<UploadSession, ApiError> {
        let session = self.store.get_upload(upload_id).await?.ok_or(FileError::UnknownUpload)?;
        if session.expires_at_ms <= self.now_ms() {
            return Err(FileError::UnknownUpload.into());
        }
        Ok(session)
    }

    fn session_lock(&self, upload_id: &str) -> Arc<tokio::sync::Mutex<Digest>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.entry(upload_id.to_string()).or_default().clone()
    }

    fn forget_session(&self, upload_id: &str) {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(upload_id);
    }

    /// Writes one chunk at `offset` (which must be what the session has received), and
    /// finalises the file when asked.
    pub async fn upload_chunk(
        &self,
        upload_id: &str,
        offset: u64,
        body: BodyStream<'_>,
        finalize: bool,
    ) -> Result<Progress, ApiError> {
        self.session(upload_id).await?;
        let lock = self.session_lock(upload_id);
        let mut digest = lock.lock().await;
        // Read again under the lock: a chunk that held it may have moved the session on.
        let session = self.session(upload_id).await?;
        let received = session.received as u64;
        if offset != received {
            return Err(FileError::WrongOffset { offset, received }.into());
        }
        if digest.offset != offset {
            *digest = self.rebuild_digest(upload_id, offset).await?;
        }
        let outcome = self.write_chunk(&session, &mut digest, body).await;
        if let Err(e) = &outcome {
            if matches!(e, ApiError::File(f) if !f.session_survives()) {
                self.drop_session(upload_id).await?;
            }
        }
        outcome?;
        if !finalize {
            return Ok(Progress::Active { received: digest.offset });
        }
        let file = self.finish(&session, digest.offset, digest.hasher.clone()).await?;
        Ok(Progress::Final(file))
    }

    /// Streams `body` into the session's staging object; on a body cut off, what arrived is
    /// kept (synced and counted), so the client can query and resume from there.
    async fn write_chunk(
        &self,
        session: &UploadSession,
        digest: &mut Digest,
        mut body: BodyStream<'_>,
    ) -> Result<(), ApiError> {
        let mut writer = self.blobs.stage(&session.id, digest.offset).await.map_err(FileError::Storage)?;
        let mut received = digest.offset;
        let mut failure = None;
        while let Some(piece) = body.next().await {
            let piece = match piece {
                Ok(piece) => piece,
                Err(cause) => {
                    failure = Some(FileError::BodyRead { cause });
                    break;
                }
            };
            let next = received + piece.len() as u64;
            if let Some(declared) = session.declared_size.map(|d| d as u64).filter(|d| next > *d) {
                failure = Some(FileError::OverDeclared { declared });
                break;
            }
            if next > self.limits.max_file_bytes {
                failure = Some(FileError::FileTooLarge { limit: self.limits.max_file_bytes });
                break;
            }
            writer.write(&piece).await.map_err(FileError::Storage)?;
            digest.hasher.update(&piece);
            received = next;
        }
        writer.sync().await.map_err(FileError::Storage)?;
        self.store.set_upload_received(&session.id, received as i64).await?;
        digest.offset = received;
        failure.map_or(Ok(()), |f| Err(f.into()))
    }

    /// The digest of the first `offset` staged bytes, read back from storage.
    async fn rebuild_digest(&self, upload_id: &str, offset: u64) -> Result<Digest, ApiError> {
        let mut digest = Digest::default();
        if offset == 0 {
            return Ok(digest);
        }
        let staged = self.blobs.staged_len(upload_id).await.map_err(FileError::Storage)?;
        if staged < offset {
            // The store counted bytes storage no longer holds: only a lost staging object
            // does that, and the session cannot go on.
            self.drop_session(upload_id).await?;
            let lost = BlobError::Gap { upload: upload_id.to_string(), staged, offset };
            return Err(FileError::Storage(lost).into());
        }
        let mut reader = self.blobs.read_staged(upload_id).await.map_err(FileError::Storage)?.take(offset);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).await.map_err(|e| FileError::Storage(e.into()))?;
            if n == 0 {
                break;
            }
            digest.hasher.update(&buf[..n]);
            digest.offset += n as u64;
        }
        Ok(digest)
    }

    /// Commits the staged bytes and records the file, then closes the session.
    async fn finish(&self, session: &UploadSession, size: u64, hasher: Sha256) -> Result<StoredFile, ApiError> {
        if let Some(declared) = session.declared_size.map(|d| d as u64).filter(|d| *d != size) {
            return Err(FileError::SizeMismatch { declared, received: size }.into());
        }
        let refused = match self.check_room(&session.project_id, size).await {
            Err(e) => Some(e),
            Ok(()) => {
                let taken = self.store.get_file(&session.file_id).await?;
                taken.map(|_| FileError::AlreadyExists { id: session.file_id.clone() }.into())
            }
        };
        if let Some(e) = refused {
            self.drop_session(&session.id).await?;
            return Err(e);
        }
        self.blobs.commit(&session.id, &session.file_id).await.map_err(FileError::Storage)?;
        let now = self.now_ms();
        let file = StoredFile {
            id: session.file_id.clone(),
            project_id: session.project_id.clone(),
            display_name: session.display_name.clone(),
            mime_type: session.mime_type.clone(),
            size_bytes: size as i64,
            sha256_base64: STANDARD.encode(hasher.finalize()),
            state: FileState::Active,
            source: FileSource::Uploaded,
            error: None,
            created_at_ms: now,
            updated_at_ms: now,
            expires_at_ms: now + self.limits.retention_ms,
        };
        self.store.insert_file(&file).await?;
        self.store.delete_upload(&session.id).await?;
        self.forget_session(&session.id);
        Ok(file)
    }

    /// Cancels an open session: its staged bytes are dropped.
    pub async fn cancel_upload(&self, upload_id: &str) -> Result<(), ApiError> {
        self.session(upload_id).await?;
        let lock = self.session_lock(upload_id);
        let _held = lock.lock().await;
        self.drop_session(upload_id).await
    }

    pub(super) async fn drop_session(&self, upload_id: &str) -> Result<(), ApiError> {
        self.store.delete_upload(upload_id).await?;
        self.blobs.discard(upload_id).await.map_err(FileError::Storage)?;
        self.forget_session(upload_id);
        Ok(())
    }

    /// A file uploaded in one request (media, multipart, or metadata only with an empty body).
    pub async fn upload_whole(
        &self,
        project_id: &str,
        mut new: NewUpload,
        body: BodyStream<'_>,
    ) -> Result<StoredFile, ApiError> {
        // A whole upload's length is its body's: nothing was declared apart from it.
        new.declared_size = None;
        let session = self.start_upload(project_id, new).await?;
        let mut digest = Digest::default();
        let done = match self.write_chunk(&session, &mut digest, body).await {
            Ok(()) => self.finish(&session, digest.offset, digest.hasher.clone()).await,
            Err(e) => Err(e),
        };
        if done.is_err() && self.store.get_upload(&session.id).await?.is_some() {
            // A whole upload has no session to resume: never leave one behind.
            self.drop_session(&session.id).await?;
        }
        done
    }
}
