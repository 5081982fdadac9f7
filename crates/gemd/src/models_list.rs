//! `gemd models`: the known models (installed or not, verified, size, path, the default),
//! then the catalog: each public id, its backend, and that backend's model file and chat
//! template override. Reads no model file and fetches nothing.

use std::fmt::Write;
use std::path::Path;

use gemd_server::DEFAULT_EMBEDDER;

use crate::app::catalog;
use crate::backends::{self, Backend};
use crate::config::Config;
use crate::embedding_model::EMBEDDING_MODEL;
use crate::known_models::{DEFAULT_MODEL, KNOWN_MODELS};
use crate::model_ref::ModelRef;
use crate::pull;
use crate::verify::{self, FileState};

pub fn run(config: Option<&Path>, home: &Path) -> anyhow::Result<()> {
    print!("{}", render(&Config::load(config)?, home)?);
    Ok(())
}

pub fn render(config: &Config, home: &Path) -> anyhow::Result<String> {
    let mut out = String::new();
    writeln!(out, "Known models (gemd pull NAME; * the default):")?;
    for m in KNOWN_MODELS {
        let path = pull::model_path(home, m);
        let state = match verify::state(&path, m.sha256) {
            FileState::Missing => "not installed",
            FileState::Verified => "installed, verified",
            FileState::Unverified => "installed, verified on next use",
        };
        let mark = if m.name == DEFAULT_MODEL { '*' } else { ' ' };
        writeln!(out, "{mark} {:<28} {:>7.1} MB  {state:<31} {}", m.name, m.size as f64 / 1e6, path.display())?;
        writeln!(out, "    {}", m.description)?;
    }

    let backends = backends::backends(config, &config.engine, None, None);
    writeln!(out, "\nCatalog (public id -> backend -> model):")?;
    let tables = config.catalog_tables();
    for spec in catalog::generative(&tables)? {
        let target = match backends.iter().find(|b| b.name == spec.backend) {
            Some(b) => describe(b, home),
            None => "(no such backend: serve refuses to start)".into(),
        };
        writeln!(out, "  {:<28} -> {} -> {target}{}", spec.id, spec.backend, also(&spec.aliases))?;
    }
    for spec in catalog::embeddings(&tables)? {
        let dir = match config.embedders.get(&spec.backend) {
            Some(e) => e.model.display().to_string(),
            None if spec.backend == DEFAULT_EMBEDDER => {
                pull::install_path(home, &EMBEDDING_MODEL).display().to_string()
            }
            None => "(no such embedder: serve refuses to start)".into(),
        };
        writeln!(out, "  {:<28} -> embedder {} -> {dir}{}", spec.id, spec.backend, also(&spec.aliases))?;
    }
    Ok(out)
}

/// The backend's model file (a known model's by file name: the table above has its path)
/// and its chat template override.
fn describe(b: &Backend, home: &Path) -> String {
    let mut s = match b.model {
        ModelRef::Known(m) => m.file.to_string(),
        ModelRef::Path(_) => b.model.path(home).display().to_string(),
    };
    if let Some(t) = &b.chat_template {
        s.push_str(&format!(", chat_template {t}"));
    }
    s
}

fn also(aliases: &[String]) -> String {
    if aliases.is_empty() {
        String::new()
    } else {
        format!("  (also {})", aliases.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_shows_the_table_then_each_id_with_its_backend_and_model() {
        let c: Config = toml::from_str(
            "[backends.small]\nmodel = \"smollm2-135m-instruct\"\nchat_template = \"chatml\"\n[[models]]\nid = \"gemini-2.5-pro\"\nbackend = \"small\"",
        )
        .unwrap();
        let out = render(&c, Path::new("/nonexistent-home")).unwrap();
        assert!(out.contains("* qwen2.5-coder-0.5b-instruct"), "{out}");
        assert!(out.contains("not installed"), "{out}");
        let pro = out.lines().find(|l| l.trim_start().starts_with("gemini-2.5-pro ")).unwrap();
        assert!(pro.contains("-> small -> SmolLM2-135M-Instruct.Q4_1.gguf, chat_template chatml"), "{pro}");
        assert!(
            out.contains("/nonexistent-home/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
            "the table gives the path: {out}"
        );
        let flash = out.lines().find(|l| l.trim_start().starts_with("gemini-2.5-flash ")).unwrap();
        assert!(flash.ends_with("-> default -> qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"), "{flash}");
        assert!(out.contains("-> embedder default -> /nonexistent-home/models/all-minilm-l6-v2"), "{out}");
    }
}
