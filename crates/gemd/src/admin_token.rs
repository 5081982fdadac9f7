//! The admin token when none is given: a random secret in `<home>/admin_token`, created on
//! first start with owner-only permissions, like a private key (and tightened back to them if
//! found readable by others). The token is never printed or logged; the log names the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::Rng;

pub fn path(home: &Path) -> PathBuf {
    home.join("admin_token")
}

/// The token in the file, created first if missing.
pub fn load_or_create(home: &Path) -> anyhow::Result<String> {
    let file = path(home);
    match std::fs::read_to_string(&file) {
        Ok(t) if !t.trim().is_empty() => {
            // A copy or an editor may have widened it: the token is the whole admin API.
            gemd_store::private_file::tighten(&file).with_context(|| format!("making {} private", file.display()))?;
            return Ok(t.trim().to_string());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    }
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let token: String = {
        let mut rng = rand::thread_rng();
        (0..40).map(|_| rng.sample(rand::distributions::Alphanumeric) as char).collect()
    };
    // An empty file left by an earlier failed start is reused, after tightening.
    let created =
        gemd_store::private_file::create_private(&file).with_context(|| format!("creating {}", file.display()))?;
    let mut f = match created {
        Some(f) => f,
        None => {
            gemd_store::private_file::tighten(&file).with_context(|| format!("making {} private", file.display()))?;
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&file)
                .with_context(|| format!("opening {}", file.display()))?
        }
    };
    writeln!(f, "{token}")?;
    tracing::info!(file = %file.display(), "created the admin token for the console");
    Ok(token)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_is_created_once_and_private() {
        let home = std::env::temp_dir().join(format!("gemd-admin-token-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let a = super::load_or_create(&home).unwrap();
        assert_eq!(a.len(), 40);
        assert_eq!(super::load_or_create(&home).unwrap(), a, "the second start reads the same token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(super::path(&home)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "no access for group or others");
        }
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_readable_by_others_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let home = std::env::temp_dir().join(format!("gemd-admin-token-loose-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let file = super::path(&home);
        std::fs::write(&file, "operator-chosen-token\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(super::load_or_create(&home).unwrap(), "operator-chosen-token");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        // An empty leftover is filled with a new token and made private.
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(super::load_or_create(&home).unwrap().len(), 40);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&home).unwrap();
    }
}
