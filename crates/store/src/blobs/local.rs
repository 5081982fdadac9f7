//! The embedded blob store: a directory (by default under the gemd home) with `staging/` for
//! open uploads and `files/` for committed content. Commit is a rename within the directory,
//! which the filesystem makes atomic, followed by a sync of the directory so the rename
//! survives a power cut as well as a kill.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{checked, BlobError, BlobReader, BlobStore, StagedWriter};

pub struct LocalDir {
    staging: PathBuf,
    files: PathBuf,
}

impl LocalDir {
    /// The store in `root`, creating its folders.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        let (staging, files) = (root.join("staging"), root.join("files"));
        std::fs::create_dir_all(&staging)?;
        std::fs::create_dir_all(&files)?;
        Ok(LocalDir { staging, files })
    }

    fn staged(&self, upload: &str) -> Result<PathBuf, BlobError> {
        Ok(self.staging.join(format!("{}.part", checked(upload)?)))
    }

    fn content(&self, file_id: &str) -> Result<PathBuf, BlobError> {
        Ok(self.files.join(checked(file_id)?))
    }
}

struct LocalWriter {
    file: File,
}

#[async_trait]
impl StagedWriter for LocalWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        Ok(self.file.write_all(bytes).await?)
    }

    async fn sync(mut self: Box<Self>) -> Result<(), BlobError> {
        self.file.flush().await?;
        Ok(self.file.sync_data().await?)
    }
}

async fn open_read(path: PathBuf, name: &str) -> Result<BlobReader, BlobError> {
    match File::open(&path).await {
        Ok(f) => Ok(Box::pin(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::Missing(name.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn remove(path: PathBuf) -> Result<(), BlobError> {
    match fs::remove_file(&path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

#[async_trait]
impl BlobStore for LocalDir {
    async fn stage(&self, upload: &str, offset: u64) -> Result<Box<dyn StagedWriter>, BlobError> {
        let mut file = OpenOptions::new().create(true).truncate(false).write(true).open(self.staged(upload)?).await?;
        let staged = file.metadata().await?.len();
        if offset > staged {
            return Err(BlobError::Gap { upload: upload.to_string(), staged, offset });
        }
        file.set_len(offset).await?;
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(Box::new(LocalWriter { file }))
    }

    async fn staged_len(&self, upload: &str) -> Result<u64, BlobError> {
        match fs::metadata(self.staged(upload)?).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_staged(&self, upload: &str) -> Result<BlobReader, BlobError> {
        open_read(self.staged(upload)?, upload).await
    }

    async fn commit(&self, upload: &str, file_id: &str) -> Result<(), BlobError> {
        let from = self.staged(upload)?;
        if fs::metadata(&from).await.is_err() {
            // An empty upload never staged a byte: its content is an empty file.
            File::create(&from).await?.sync_all().await?;
        }
        fs::rename(&from, self.content(file_id)?).await?;
        let dir = self.files.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    async fn discard(&self, upload: &str) -> Result<(), BlobError> {
        remove(self.staged(upload)?).await
    }

    async fn read(&self, file_id: &str) -> Result<BlobReader, BlobError> {
        open_read(self.content(file_id)?, file_id).await
    }

    async fn delete(&self, file_id: &str) -> Result<(), BlobError> {
        remove(self.content(file_id)?).await
    }
}
