//! The `files_storage` setting read into a blob store: `s3://bucket/prefix` (an S3-compatible
//! store, its endpoint, region and credentials from the standard `AWS_*` environment variables)
//! or `file:///folder` (a folder through the object-store interface, e.g. a shared mount).
//! Unset, gemd keeps the embedded [`super::local::LocalDir`].

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectStore};

use super::object::ObjectBlobs;
use super::BlobError;

/// The blob store `url` names.
pub fn open(url: &str) -> Result<ObjectBlobs, BlobError> {
    let bad = |why| BlobError::BadLocation(url.to_string(), why);
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("names no bucket"));
        }
        let store = s3(bucket)?;
        return Ok(ObjectBlobs::new(Arc::new(store), root(prefix)));
    }
    if let Some(dir) = url.strip_prefix("file://") {
        if !dir.starts_with('/') {
            return Err(bad("a file:// folder must be an absolute path"));
        }
        std::fs::create_dir_all(dir)?;
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir)?);
        return Ok(ObjectBlobs::new(store, Path::default()));
    }
    Err(bad("is neither s3://bucket/prefix nor file:///folder"))
}

/// An S3 client configured as the AWS tools are (`AWS_ENDPOINT_URL`, `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, ...). A plain-HTTP endpoint (MinIO or a test server on loopback) is
/// allowed because the operator named it; object_store refuses one unless told.
fn s3(bucket: &str) -> Result<impl ObjectStore, BlobError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let plain_http = builder.get_config_value(&AmazonS3ConfigKey::Endpoint).is_some_and(|e| e.starts_with("http://"));
    if plain_http {
        builder = builder.with_config(AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp), "true");
    }
    Ok(builder.build()?)
}

/// The object path under which gemd keeps its objects: the URL's path, empty segments dropped.
fn root(prefix: &str) -> Path {
    Path::from_iter(prefix.split('/').filter(|s| !s.is_empty()))
}
