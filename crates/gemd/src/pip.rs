//! Running pip, the one way gemd fetches models: packages by name (pinned `name==version`)
//! from whatever index the user's pip is configured with. `GEMD_PYTHON` picks the Python.

use std::fs;
use std::path::Path;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum PipError {
    #[error("running {python} -m pip (is Python with pip installed? GEMD_PYTHON picks another): {source}")]
    Spawn { python: String, source: std::io::Error },
    #[error("pip could not {action} {packages} ({status})")]
    Failed { action: &'static str, packages: String, status: std::process::ExitStatus },
    #[error("preparing {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
}

fn python() -> String {
    std::env::var("GEMD_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Empties (or creates) `dir`: pip must not find an older download or install there.
fn fresh_dir(dir: &Path) -> Result<(), PipError> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|source| PipError::Dir { dir: dir.display().to_string(), source })
}

fn run(action: &'static str, args: &[&str], dir_flag: &str, dir: &Path, packages: &[&str]) -> Result<(), PipError> {
    let python = python();
    let status = Command::new(&python)
        .args(["-m", "pip", action, "--disable-pip-version-check", "--no-input"])
        .args(args)
        .arg(dir_flag)
        .arg(dir)
        .args(packages)
        .status()
        .map_err(|source| PipError::Spawn { python: python.clone(), source })?;
    if !status.success() {
        return Err(PipError::Failed { action, packages: packages.join(" "), status });
    }
    Ok(())
}

/// Downloads the wheels of `packages` (and nothing they depend on) into the emptied `dest`.
/// Only wheels: a source distribution would run its build code here.
pub fn download(dest: &Path, packages: &[&str]) -> Result<(), PipError> {
    fresh_dir(dest)?;
    run("download", &["--no-deps", "--only-binary=:all:"], "--dest", dest, packages)
}

/// Installs `package` into the emptied directory `target`; `extra` are more pip flags (e.g.
/// `--no-deps`).
pub fn install(target: &Path, package: &str, extra: &[&str]) -> Result<(), PipError> {
    fresh_dir(target)?;
    let mut args = vec!["--no-warn-script-location", "--upgrade"];
    args.extend_from_slice(extra);
    run("install", &args, "--target", target, &[package])
}
