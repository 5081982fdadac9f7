//! The layer rule of `lib.rs`, checked: no code under `service/` names the http layer or a
//! surface, and none under `http/` names a surface. Read from the source tree, so a new import
//! that breaks the rule fails `cargo test` rather than waiting for a reviewer. Comments are
//! skipped (a doc may point at the layer above).

use std::path::{Path, PathBuf};

const SURFACES: &[&str] = &["crate::gemini", "crate::openai", "crate::admin"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of code under `src/{layer}` that names one of `forbidden`.
fn offences(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if let Some(name) = forbidden.iter().find(|f| code.contains(*f)) {
                found.push(format!("{}:{}: names {name}", file.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn the_service_layer_knows_no_http_and_no_surface() {
    let forbidden: Vec<&str> = ["crate::http", "axum"].iter().chain(SURFACES).copied().collect();
    let found = offences("service", &forbidden);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_http_layer_knows_no_surface() {
    let found = offences("http", SURFACES);
    assert!(found.is_empty(), "{found:#?}");
}
