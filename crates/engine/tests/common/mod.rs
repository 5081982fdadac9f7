//! What the engine's test binaries share: where the pulled embedding model is (`./gemd.sh
//! pull`, or GEMD_TEST_EMBEDDING_MODEL=dir), a large document, and a deterministic random
//! generator for texts. Each binary uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn embedding_model_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("GEMD_TEST_EMBEDDING_MODEL") {
        return p.into();
    }
    let home = std::env::var_os("GEMD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/gemd"));
    let dir = home.join("models/all-minilm-l6-v2");
    assert!(
        dir.is_dir(),
        "the embedding model is missing at {}: run `./gemd.sh pull` or set GEMD_TEST_EMBEDDING_MODEL",
        dir.display()
    );
    dir
}

/// About `bytes` of English prose with newlines: what a large document looks like.
pub fn document(bytes: usize) -> String {
    let paragraph = "The committee reviewed the proposal in detail, and its members agreed that the budget was reasonable.\nFurther work is planned for next year; results will be published.\n";
    paragraph.repeat(bytes / paragraph.len() + 1)
}

/// A deterministic xorshift generator (no dependency; the same texts every run).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}
