//! Blob storage in an object store (S3-compatible, or a folder through the same interface),
//! so replicas share uploaded files. Object stores cannot append or rename, so:
//!
//! - an upload's staging object is a run of *part objects* `staging/{upload}/{offset}`, one
//!   per chunk, each written with a multipart upload that is only visible once complete (a
//!   chunk cut by a kill leaves nothing, and the session's count never passed it);
//! - commit streams the parts into `files/{file_id}` with one multipart upload, which the store
//!   makes visible only whole; the record that makes the file ACTIVE is written after it
//!   (put-then-record), so a crash leaves at most an unreferenced object, never a partial file.
//!
//! Any replica can take the next chunk: the parts' names and sizes are the staging state.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

use super::{checked, BlobError, BlobReader, BlobStore, StagedWriter};

/// Part uploads in flight per writer: bounds a writer's memory to a few part buffers.
const PARTS_IN_FLIGHT: usize = 4;

pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    /// Where gemd's objects live in the store (a bucket's prefix).
    root: Path,
}

/// One part object: the bytes of an upload from `start`, `len` long.
#[derive(Debug, Clone)]
struct Part {
    location: Path,
    start: u64,
    len: u64,
}

impl Part {
    fn end(&self) -> u64 {
        self.start + self.len
    }
}

impl ObjectBlobs {
    pub fn new(store: Arc<dyn ObjectStore>, root: Path) -> Self {
        ObjectBlobs { store, root }
    }

    fn staging_dir(&self, upload: &str) -> Result<Path, BlobError> {
        Ok(self.root.child("staging").child(checked(upload)?))
    }

    fn content(&self, file_id: &str) -> Result<Path, BlobError> {
        Ok(self.root.child("files").child(checked(file_id)?))
    }

    /// Every part object of `upload`, by offset. A name that is not an offset is none of
    /// gemd's and is left alone.
    async fn parts(&self, upload: &str) -> Result<Vec<Part>, BlobError> {
        let dir = self.staging_dir(upload)?;
        let metas: Vec<_> = self.store.list(Some(&dir)).try_collect().await?;
        let mut parts: Vec<Part> = metas
            .into_iter()
            .filter_map(|m| {
                let start = m.location.filename()?.parse().ok()?;
                Some(Part { location: m.location, start, len: m.size })
            })
            .collect();
        parts.sort_by_key(|p| p.start);
        Ok(parts)
    }

    /// The parts that hold the upload's bytes from 0 without a gap (later ones are leftovers
    /// of a chunk resent after its answer was lost, dropped by the next `stage`).
    async fn contiguous(&self, upload: &str) -> Result<Vec<Part>, BlobError> {
        let mut parts = self.parts(upload).await?;
        parts.truncate(contiguous_count(&parts));
        Ok(parts)
    }

    /// The staged bytes read in order, part after part.
    fn concat(&self, parts: Vec<Part>) -> BlobReader {
        let store = self.store.clone();
        let bytes = futures::stream::iter(parts)
            .then(move |part| {
                let store = store.clone();
                async move { Ok::<_, object_store::Error>(store.get(&part.location).await?.into_stream()) }
            })
            .try_flatten()
            .map_err(std::io::Error::other);
        Box::pin(StreamReader::new(bytes))
    }

    async fn delete_quietly(&self, location: &Path) -> Result<(), BlobError> {
        match self.store.delete(location).await {
            Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A chunk's part object, written as a multipart upload that becomes visible at `sync`.
struct PartWriter {
    upload: WriteMultipart,
    written: u64,
}

#[async_trait]
impl StagedWriter for PartWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.upload.write(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn sync(self: Box<Self>) -> Result<(), BlobError> {
        if self.written == 0 {
            // A chunk with no bytes adds no part: an empty part would only be noise.
            return Ok(self.upload.abort().await?);
        }
        self.upload.finish().await?;
        Ok(())
    }
}

#[async_trait]
impl BlobStore for ObjectBlobs {
    async fn stage(&self, upload: &str, offset: u64) -> Result<Box<dyn StagedWriter>, BlobError> {
        let parts = self.parts(upload).await?;
        let staged = contiguous_end(&parts);
        if offset > staged {
            return Err(BlobError::Gap { upload: upload.to_string(), staged, offset });
        }
        for part in &parts {
            if part.start >= offset {
                self.delete_quietly(&part.location).await?;
            } else if part.end() > offset {
                // A part that runs past the offset keeps only its bytes before it; the put
                // replaces the object whole, so a kill leaves the old part or the new one.
                let kept = self.store.get_range(&part.location, 0..offset - part.start).await?;
                self.store.put(&part.location, PutPayload::from(kept)).await?;
            }
        }
        let location = self.staging_dir(upload)?.child(format!("{offset:020}"));
        let upload = WriteMultipart::new(self.store.put_multipart(&location).await?);
        Ok(Box::new(PartWriter { upload, written: 0 }))
    }

    async fn staged_len(&self, upload: &str) -> Result<u64, BlobError> {
        Ok(contiguous_end(&self.parts(upload).await?))
    }

    async fn read_staged(&self, upload: &str) -> Result<BlobReader, BlobError> {
        let parts = self.contiguous(upload).await?;
        Ok(self.concat(parts))
    }

    async fn commit(&self, upload: &str, file_id: &str) -> Result<(), BlobError> {
        let target = self.content(file_id)?;
        let parts = self.contiguous(upload).await?;
        if parts.is_empty() {
            // An empty upload never staged a byte: its content is an empty object.
            self.store.put(&target, PutPayload::new()).await?;
        } else {
            let mut reader = self.concat(parts);
            let mut out = WriteMultipart::new(self.store.put_multipart(&target).await?);
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        out.abort().await?;
                        return Err(e.into());
                    }
                };
                out.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                out.write(&buf[..n]);
            }
            out.finish().await?;
        }
        self.discard(upload).await
    }

    async fn discard(&self, upload: &str) -> Result<(), BlobError> {
        for part in self.parts(upload).await? {
            self.delete_quietly(&part.location).await?;
        }
        Ok(())
    }

    async fn read(&self, file_id: &str) -> Result<BlobReader, BlobError> {
        match self.store.get(&self.content(file_id)?).await {
            Ok(got) => Ok(Box::pin(StreamReader::new(got.into_stream().map_err(std::io::Error::other)))),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::Missing(file_id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, file_id: &str) -> Result<(), BlobError> {
        self.delete_quietly(&self.content(file_id)?).await
    }
}

/// How many of `parts` (sorted by offset) run from byte 0 without a gap.
fn contiguous_count(parts: &[Part]) -> usize {
    let mut end = 0;
    parts
        .iter()
        .take_while(|p| {
            let joins = p.start == end;
            end = p.end();
            joins
        })
        .count()
}

/// Where the gap-free run of `parts` (sorted by offset) from byte 0 ends.
fn contiguous_end(parts: &[Part]) -> u64 {
    parts[..contiguous_count(parts)].last().map_or(0, Part::end)
}
