//! The static API keys (from the command line), held only as SHA-256 digests and compared in
//! constant time, so neither a memory dump nor the time a lookup takes gives a key away.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The accepted keys, as digests.
#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    digests: Vec<[u8; 32]>,
}

impl KeyRing {
    pub fn new<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        KeyRing { digests: keys.into_iter().map(|k| digest(k.as_ref())).collect() }
    }

    pub fn add_digest(&mut self, digest: [u8; 32]) {
        self.digests.push(digest);
    }

    /// True when `key` is one of the ring's keys. Every stored digest is compared, so the time
    /// taken does not reveal which (if any) matched.
    pub fn contains(&self, key: &str) -> bool {
        let d = digest(key);
        self.digests.iter().fold(0u8, |found, k| found | k.ct_eq(&d).unwrap_u8()) == 1
    }
}

pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_matches_only_its_keys() {
        let ring = KeyRing::new(["AIzaA", "AIzaB"]);
        assert!(ring.contains("AIzaB"));
        assert!(!ring.contains("AIzaC"));
        assert!(!KeyRing::default().contains(""));
    }
}
