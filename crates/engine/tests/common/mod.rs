//! Where the tests of the embedding cut find the pulled model (`./gemd.sh pull`, or
//! GEMD_TEST_EMBEDDING_MODEL=dir), and texts they read.

use std::path::PathBuf;

pub fn embedding_model_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("GEMD_TEST_EMBEDDING_MODEL") {
        return p.into();
    }
    let home = std::env::var_os("GEMD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/gemd"));
    let dir = home.join("models/all-minilm-l6-v2");
    assert!(dir.is_dir(), "the embedding model is missing at {}: run `./gemd.sh pull` or set GEMD_TEST_EMBEDDING_MODEL", dir.display());
    dir
}

/// About `bytes` of English prose with newlines: what a large document looks like.
pub fn document(bytes: usize) -> String {
    let paragraph = "The committee reviewed the proposal in detail, and its members agreed that the budget was reasonable.\nFurther work is planned for next year; results will be published.\n";
    paragraph.repeat(bytes / paragraph.len() + 1)
}
