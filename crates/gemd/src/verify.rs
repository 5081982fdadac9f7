//! Verifying fetched model files: SHA-256 with a progress bar, and the verification record,
//! the file's size and mtime when it last hashed correctly, so later starts skip re-hashing.
//! A file that fails is removed: gemd never serves a corrupt, truncated or partial model.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

/// What is known of an installed file without hashing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Missing,
    /// Its record matches its size and mtime.
    Verified,
    /// Present, but not (or no longer) recorded: it is hashed on next use.
    Unverified,
}

/// One record: what was verified, and the size and mtime the file had then.
pub fn stamp(sha256: &str, meta: &fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sha256={sha256} size={} mtime_ns={mtime}", meta.len())
}

/// `FILE.verified`, beside the file.
pub fn record_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".verified");
    file.with_file_name(name)
}

/// Records `file` as verified against `sha256` as it is now.
pub fn write_record(file: &Path, sha256: &str) -> io::Result<()> {
    fs::write(record_path(file), stamp(sha256, &fs::metadata(file)?) + "\n")
}

pub fn state(file: &Path, sha256: &str) -> FileState {
    let Ok(meta) = fs::metadata(file) else { return FileState::Missing };
    let recorded = fs::read_to_string(record_path(file)).unwrap_or_default();
    if recorded.trim_end() == stamp(sha256, &meta) {
        FileState::Verified
    } else {
        FileState::Unverified
    }
}

/// True when `file` is recorded as verified, or has `size` bytes and hashes to `sha256` now
/// (the record is then written). Otherwise the file and its record are removed.
pub fn verify_or_remove(file: &Path, size: u64, sha256: &str) -> io::Result<bool> {
    let meta = match fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let fault = if state(file, sha256) == FileState::Verified {
        None
    } else if meta.len() != size {
        // Cheaper than hashing, and what a truncated copy shows.
        Some(format!("has {} bytes, expected {size}", meta.len()))
    } else {
        let digest = hash_file(file, "verifying")?;
        (digest != sha256).then(|| format!("has sha256 {digest}, expected {sha256}"))
    };
    match fault {
        None => {
            write_record(file, sha256)?;
            Ok(true)
        }
        Some(fault) => {
            eprintln!("{} {fault}; removing it", file.display());
            fs::remove_file(file)?;
            let _ = fs::remove_file(record_path(file));
            Ok(false)
        }
    }
}

pub fn hash_file(path: &Path, label: &str) -> io::Result<String> {
    let bar = progress(fs::metadata(path)?.len(), label);
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

/// A bar of bytes done out of `total` (drawn only on a terminal).
pub fn progress(total: u64, label: &str) -> ProgressBar {
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

    fn file_with(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gemd-verify-test-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.gguf");
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_good_file_is_recorded_and_then_trusted_by_its_record() {
        let path = file_with("good", b"model");
        let sha = hex::encode(Sha256::digest(b"model"));
        assert_eq!(state(&path, &sha), FileState::Unverified);
        assert!(verify_or_remove(&path, 5, &sha).unwrap());
        assert_eq!(state(&path, &sha), FileState::Verified);
        assert!(record_path(&path).ends_with("m.gguf.verified"));
        let _ = fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_corrupt_or_truncated_file_is_removed() {
        let sha = hex::encode(Sha256::digest(b"model"));
        for (case, bytes) in [("corrupt", &b"mode!"[..]), ("truncated", &b"mod"[..])] {
            let path = file_with(case, bytes);
            assert!(!verify_or_remove(&path, 5, &sha).unwrap(), "{case}");
            assert_eq!(state(&path, &sha), FileState::Missing, "{case}");
            let _ = fs::remove_dir_all(path.parent().unwrap());
        }
    }

    #[test]
    fn a_file_changed_after_its_record_is_hashed_again() {
        let path = file_with("changed", b"model");
        let sha = hex::encode(Sha256::digest(b"model"));
        assert!(verify_or_remove(&path, 5, &sha).unwrap());
        // Same size, later mtime (file times tick in milliseconds or coarser).
        std::thread::sleep(std::time::Duration::from_millis(50));
        fs::write(&path, b"MODEL").unwrap();
        assert_ne!(state(&path, &sha), FileState::Verified);
        assert!(!verify_or_remove(&path, 5, &sha).unwrap());
        let _ = fs::remove_dir_all(path.parent().unwrap());
    }
}
