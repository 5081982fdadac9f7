//! Where uploaded files' bytes live, behind one small trait so the embedded default (a
//! directory under the gemd home, [`local::LocalDir`]) and a store shared by replicas (an
//! object store) are interchangeable. Bytes go through in pieces, never whole in memory. An
//! upload is written to a staging object of its session and becomes a file's content only by
//! [`BlobStore::commit`], one atomic step: a process killed mid-upload leaves at most a
//! staging object, which is resumed or discarded, never a file with part of its bytes.

pub mod local;
pub mod location;
pub mod object;

use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

/// A blob's bytes as they are read.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no blob {0}")]
    Missing(String),
    /// A name that is not `[a-z0-9-]` (the ids gemd makes and checks); never reaches a path.
    #[error("blob name {0:?} is not one gemd makes")]
    BadName(String),
    /// A write at `offset` of a staging object holding only `staged` bytes.
    #[error("staging object {upload} holds {staged} bytes; cannot write at {offset}")]
    Gap { upload: String, staged: u64, offset: u64 },
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Object(#[from] object_store::Error),
    /// A storage setting gemd cannot use (its URL's scheme, or no bucket).
    #[error("file storage {0:?}: {1}")]
    BadLocation(String, &'static str),
}

/// Writes one piece of an upload into its staging object.
#[async_trait]
pub trait StagedWriter: Send {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError>;
    /// Makes everything written durable: the session's received count is advanced only after.
    async fn sync(self: Box<Self>) -> Result<(), BlobError>;
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A writer into `upload`'s staging object at `offset`: bytes past `offset` are dropped
    /// first (a chunk resent after its answer was lost), and an offset past the staged bytes
    /// is a [`BlobError::Gap`].
    async fn stage(&self, upload: &str, offset: u64) -> Result<Box<dyn StagedWriter>, BlobError>;
    /// The bytes staged for `upload` (0 when it has none).
    async fn staged_len(&self, upload: &str) -> Result<u64, BlobError>;
    async fn read_staged(&self, upload: &str) -> Result<BlobReader, BlobError>;
    /// Makes `upload`'s staged bytes the content of file `file_id`, atomically.
    async fn commit(&self, upload: &str, file_id: &str) -> Result<(), BlobError>;
    /// Drops `upload`'s staging object (none is fine).
    async fn discard(&self, upload: &str) -> Result<(), BlobError>;
    async fn read(&self, file_id: &str) -> Result<BlobReader, BlobError>;
    /// Drops a file's content (none is fine).
    async fn delete(&self, file_id: &str) -> Result<(), BlobError>;
}

/// Whether `name` is one gemd makes (upload ids, file ids): the only names that reach storage.
pub(crate) fn checked(name: &str) -> Result<&str, BlobError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then_some(name).ok_or_else(|| BlobError::BadName(name.to_string()))
}
