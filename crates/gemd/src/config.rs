//! The TOML configuration file: the option groups' keys (options.rs: top-level keys and the
//! `[engine]` and `[cors]` tables, layered under flags and environment by settings/), and the
//! tables only the file has: backends, embedders, changes to the built-in catalog and quota
//! overrides. See docs/configuration.md for every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::chat_template::{ChatTemplate, TemplateError};
use crate::model_ref::ModelRef;
use crate::settings::options::{
    ConsoleOptions, CorsOptions, EngineOptions, KeyOptions, LimitOptions, ListenOptions, QuotaOptions, StoreOptions,
};

/// The file. The groups' top-level keys are flattened in; serde still refuses unknown keys
/// (`deny_unknown_fields` checks what no flattened group took).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(flatten)]
    pub listen: ListenOptions,
    #[serde(flatten)]
    pub limits: LimitOptions,
    #[serde(flatten)]
    pub keys: KeyOptions,
    #[serde(flatten)]
    pub console: ConsoleOptions,
    #[serde(flatten)]
    pub quota: QuotaOptions,
    #[serde(flatten)]
    pub store: StoreOptions,
    /// Which browser origins may call the public API.
    #[serde(default)]
    pub cors: CorsOptions,
    /// Sizing of the default backend (and the defaults of other llama backends).
    #[serde(default)]
    pub engine: EngineOptions,
    /// Per-tier, per-model limits over the built-in table: `[quota.free."gemini-2.5-flash"]`.
    #[serde(default, rename = "quota")]
    pub quota_limits: BTreeMap<String, BTreeMap<String, LimitSection>>,
    /// Extra backends by name. The name `default` replaces the embedded model.
    #[serde(default)]
    pub backends: BTreeMap<String, BackendSection>,
    /// Models to add, or fields to change on built-in ones.
    #[serde(default)]
    pub models: Vec<ModelSection>,
    /// Extra embedders by name. The name `default` replaces the embedded all-MiniLM-L6-v2.
    #[serde(default)]
    pub embedders: BTreeMap<String, EmbedderSection>,
    /// Embedding ids to add, or fields to change on built-in ones (the keys of `models` that
    /// embedding models have).
    #[serde(default)]
    pub embedding_models: Vec<ModelSection>,
    /// Built-in ids (generative or embedding) to drop.
    #[serde(default)]
    pub remove_models: Vec<String>,
}

/// What the file changes in the catalog and the quota table, which only the file can say.
#[derive(Debug, Default, Clone)]
pub struct CatalogTables {
    pub quota_limits: BTreeMap<String, BTreeMap<String, LimitSection>>,
    pub models: Vec<ModelSection>,
    pub embedders: BTreeMap<String, EmbedderSection>,
    pub embedding_models: Vec<ModelSection>,
    pub remove_models: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing config {path}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("[backends.{backend}] chat_template")]
    ChatTemplate { backend: String, source: TemplateError },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderSection {
    /// A sentence-transformers BERT directory (config.json, model.safetensors,
    /// tokenizer.json; relative paths are relative to the config file).
    pub model: PathBuf,
}

/// One model's limits on one tier; an absent key means unlimited.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSection {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub rpd: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// A known model's short name (fetched when missing) or the path of a GGUF file
    /// (relative paths are relative to the config file).
    pub model: ModelRef,
    /// The chat template instead of the GGUF's own: a built-in name or a Jinja file
    /// (relative to the config file; it must exist).
    pub chat_template: Option<ChatTemplate>,
    /// This backend's sizing, over the top-level `[engine]` values.
    #[serde(default)]
    pub engine: EngineOptions,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub id: String,
    pub backend: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub input_token_limit: Option<u32>,
    pub output_token_limit: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<u32>,
    pub system_instruction: Option<bool>,
}

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config: Config =
            toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")))?;
        Ok(config)
    }

    /// Takes the file's relative paths relative to `base`, its directory, and checks that
    /// every chat template file exists.
    fn resolve_paths(&mut self, base: &Path) -> Result<(), ConfigError> {
        for (name, b) in &mut self.backends {
            b.model = b.model.clone().relative_to(base);
            if let Some(t) = b.chat_template.take() {
                let resolved =
                    t.resolved(base).map_err(|source| ConfigError::ChatTemplate { backend: name.clone(), source })?;
                b.chat_template = Some(resolved);
            }
        }
        for e in self.embedders.values_mut().filter(|e| e.model.is_relative()) {
            e.model = base.join(&e.model);
        }
        Ok(())
    }

    pub fn catalog_tables(&self) -> CatalogTables {
        CatalogTables {
            quota_limits: self.quota_limits.clone(),
            models: self.models.clone(),
            embedders: self.embedders.clone(),
            embedding_models: self.embedding_models.clone(),
            remove_models: self.remove_models.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_invariant_kernels_are_the_default_and_can_be_turned_off() {
        use gemd_engine::llama::kernels::Kernels;
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.engine.llama_config("m.gguf".into()).kernels, Kernels::Invariant);
        let c: Config = toml::from_str("[engine]\nbatch_invariant = false").unwrap();
        assert_eq!(c.engine.llama_config("m.gguf".into()).kernels, Kernels::Default);
        assert!(toml::from_str::<Config>("[engine]\nbatch_invariant = \"yes\"").is_err());
    }

    /// A config file in a fresh directory, with `files` beside it.
    fn config_in(name: &str, toml: &str, files: &[&str]) -> (PathBuf, anyhow::Result<Config>) {
        let dir = std::env::temp_dir().join(format!("gemd-config-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), "{{ messages }}").unwrap();
        }
        std::fs::write(dir.join("gemd.toml"), toml).unwrap();
        let config = Config::load(Some(&dir.join("gemd.toml"))).map_err(anyhow::Error::from);
        (dir, config)
    }

    #[test]
    fn a_backend_model_is_a_known_name_or_a_path_relative_to_the_file() {
        let (dir, c) = config_in(
            "models",
            "[backends.a]\nmodel = \"smollm2-135m-instruct\"\n[backends.b]\nmodel = \"m/x.gguf\"\n[backends.c]\nmodel = \"/abs/y.gguf\"\n[backends.d]\nmodel = \"./smollm2-135m-instruct\"",
            &[],
        );
        let c = c.unwrap();
        assert_eq!(c.backends["a"].model, ModelRef::Known(crate::known_models::find("smollm2-135m-instruct").unwrap()));
        assert_eq!(c.backends["b"].model, ModelRef::Path(dir.join("m/x.gguf")));
        assert_eq!(c.backends["c"].model, ModelRef::Path("/abs/y.gguf".into()));
        assert_eq!(c.backends["d"].model, ModelRef::Path(dir.join("./smollm2-135m-instruct")), "./NAME is a file");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_chat_template_is_a_built_in_name_or_an_existing_file_relative_to_the_file() {
        let (dir, c) = config_in(
            "templates",
            "[backends.a]\nmodel = \"a.gguf\"\nchat_template = \"chatml\"\n[backends.b]\nmodel = \"b.gguf\"\nchat_template = \"t/qwen.jinja\"",
            &[],
        );
        let e = format!("{:#}", c.unwrap_err());
        assert!(
            e.contains("[backends.b] chat_template") && e.contains("qwen.jinja") && e.contains("chatml, gemma"),
            "{e}"
        );
        std::fs::create_dir_all(dir.join("t")).unwrap();
        std::fs::write(dir.join("t/qwen.jinja"), "{{ messages }}").unwrap();
        let c = Config::load(Some(&dir.join("gemd.toml"))).unwrap();
        assert_eq!(c.backends["a"].chat_template, Some(ChatTemplate::BuiltIn("chatml")));
        let Some(ChatTemplate::File(path)) = &c.backends["b"].chat_template else { panic!("a file template") };
        assert!(path.is_absolute() && path.ends_with("t/qwen.jinja") && path.is_file(), "{}", path.display());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_relative_config_path_still_gives_absolute_template_paths() {
        let (dir, _) =
            config_in("relative", "[backends.a]\nmodel = \"a.gguf\"\nchat_template = \"t.jinja\"", &["t.jinja"]);
        let cwd = std::env::current_dir().unwrap();
        let rel = pathdiff(&dir, &cwd);
        let c = Config::load(Some(&rel.join("gemd.toml"))).unwrap();
        let Some(ChatTemplate::File(path)) = &c.backends["a"].chat_template else { panic!("a file template") };
        assert!(path.is_absolute() && path.is_file(), "{}", path.display());
        let _ = std::fs::remove_dir_all(dir);
    }

    /// `to` as a path relative to `from` (both absolute).
    fn pathdiff(to: &Path, from: &Path) -> PathBuf {
        let ups = from.components().count() - 1;
        let mut p: PathBuf = std::iter::repeat_n("..", ups).collect();
        p.push(to.strip_prefix("/").unwrap());
        p
    }
}
