//! Files only their owner may read: the SQLite store (key digests, projects, the usage ledger)
//! and the admin token. A missing file is created mode 0600; an existing one that group or
//! others can read or write is tightened to 0600, with a warning naming the file and its old
//! mode (never its content). SQLite gives the `-wal` and `-shm` files it creates the mode of
//! the database file, so a private database keeps its companions private; ones left by an
//! older gemd are tightened here too. On non-Unix systems the file system's own ACLs apply and
//! nothing is changed.

use std::io;
use std::path::{Path, PathBuf};

/// The files SQLite keeps beside a database (WAL mode, and the rollback journal).
pub const SQLITE_COMPANIONS: &[&str] = &["-wal", "-shm", "-journal"];

/// Creates `path` empty with mode 0600 if it does not exist (an empty file is a valid new
/// SQLite database); tightens it, and each existing `path<suffix>`, to 0600 otherwise.
pub fn ensure_private(path: &Path, companions: &[&str]) -> io::Result<()> {
    create_private(path)?;
    tighten(path)?;
    for suffix in companions {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let companion = PathBuf::from(name);
        if companion.exists() {
            tighten(&companion)?;
        }
    }
    Ok(())
}

/// Opens `path` for writing as a new file with mode 0600; an existing file is left as is.
pub fn create_private(path: &Path) -> io::Result<Option<std::fs::File>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets `path` to 0600 if group or others have any access, and says so.
pub fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(file = %path.display(), old_mode = format!("{mode:o}"), "the file was readable by other users; its mode is now 600");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_private_and_loose_ones_are_tightened() {
        let dir = std::env::temp_dir().join(format!("gemd-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fresh = dir.join("fresh.db");
        ensure_private(&fresh, SQLITE_COMPANIONS).unwrap();
        assert_eq!(mode(&fresh), 0o600);

        let loose = dir.join("loose.db");
        std::fs::write(&loose, b"").unwrap();
        std::fs::write(dir.join("loose.db-wal"), b"").unwrap();
        for p in [&loose, &dir.join("loose.db-wal")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        ensure_private(&loose, SQLITE_COMPANIONS).unwrap();
        assert_eq!(mode(&loose), 0o600);
        assert_eq!(mode(&dir.join("loose.db-wal")), 0o600);
        assert!(!dir.join("loose.db-shm").exists(), "absent companions are not created");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
