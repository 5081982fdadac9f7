//! The Files API as `gemd serve` runs it: bytes in a directory (by default under the home) or
//! in the object store `files_storage` names (shared by replicas), records in the key store,
//! and the sweeper of expired files started with it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gemd_server::service::files::sweeper;
use gemd_server::Files;
use gemd_store::blobs::local::LocalDir;
use gemd_store::blobs::{location, BlobStore};
use gemd_store::Store;

use crate::settings::FileSettings;

/// How often expired files are looked for (they are refused from their expiration on; the
/// sweep only frees their space).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub fn open(settings: &FileSettings, store: Arc<dyn Store>) -> anyhow::Result<Arc<Files>> {
    let blobs: Arc<dyn BlobStore> = match &settings.storage {
        Some(url) => Arc::new(location::open(url).with_context(|| format!("opening the file storage {url}"))?),
        None => Arc::new(
            LocalDir::open(&settings.dir)
                .with_context(|| format!("opening the files folder {}", settings.dir.display()))?,
        ),
    };
    let files = Arc::new(Files::new(store, blobs, settings.limits));
    sweeper::spawn(&files, SWEEP_EVERY);
    Ok(files)
}
