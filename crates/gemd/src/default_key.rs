//! The key the quickstart uses when no key is configured: created on first start, printed
//! once, and stored only as a SHA-256 digest (plus a short prefix to recognise it by).

use std::fs;
use std::path::Path;

use anyhow::Context;
use rand::Rng;

const FILE: &str = "default-key.sha256";
const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A new key in Google's shape: `AIza` + 35 URL-safe characters.
pub fn new_key() -> String {
    let mut rng = rand::thread_rng();
    let tail: String = (0..35).map(|_| KEY_ALPHABET[rng.gen_range(0..KEY_ALPHABET.len())] as char).collect();
    format!("AIza{tail}")
}

/// Loads the default key's digest, creating the key (and printing it once) if there is none.
pub fn load_or_create(home: &Path) -> anyhow::Result<[u8; 32]> {
    let path = home.join(FILE);
    if let Ok(text) = fs::read_to_string(&path) {
        if let Some(digest) = text.split_whitespace().next().and_then(|h| hex::decode(h).ok()).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            let prefix = text.split_whitespace().nth(1).unwrap_or("AIza");
            tracing::info!("default API key {prefix}… (created on first start; delete {} to make a new one)", path.display());
            return Ok(digest);
        }
    }
    let key = new_key();
    let digest = gemd_server::auth::digest(&key);
    fs::create_dir_all(home)?;
    fs::write(&path, format!("{} {}\n", hex::encode(digest), &key[..8])).with_context(|| format!("writing {}", path.display()))?;
    // Printed to the terminal once, never logged: only the digest is kept.
    eprintln!("\nCreated an API key for this server (shown once; store it now):\n\n    {key}\n");
    Ok(digest)
}
