//! The TOML configuration file: server settings, backends, and changes to the built-in model
//! catalog. See docs/configuration.md for every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gemd_server::ModelSpec;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub host: Option<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub api_keys: Vec<String>,
    pub max_body_bytes: Option<usize>,
    /// Sizing of the default backend (and the defaults of other llama backends).
    #[serde(default)]
    pub engine: EngineSection,
    /// Extra backends by name. The name `default` replaces the embedded model.
    #[serde(default)]
    pub backends: BTreeMap<String, BackendSection>,
    /// Models to add, or fields to change on built-in ones.
    #[serde(default)]
    pub models: Vec<ModelSection>,
    /// Built-in ids to drop.
    #[serde(default)]
    pub remove_models: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    pub threads: Option<i32>,
    pub max_sequences: Option<u32>,
    pub context_per_sequence: Option<u32>,
    pub kv_tokens: Option<u32>,
    pub batch_size: Option<u32>,
    pub queue_capacity: Option<usize>,
    pub prefill_chunk: Option<u32>,
    pub prefix_cache_entries: Option<u32>,
    pub prefix_cache_tokens: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// Path of a GGUF file (relative paths are relative to the config file).
    pub model: PathBuf,
    /// This backend's sizing, over the top-level `[engine]` values.
    #[serde(default)]
    pub engine: EngineSection,
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
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else { return Ok(Config::default()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for backend in config.backends.values_mut() {
            if backend.model.is_relative() {
                backend.model = base.join(&backend.model);
            }
        }
        Ok(config)
    }

    /// The built-in catalog with this file's removals, overrides and additions applied.
    pub fn catalog(&self) -> anyhow::Result<Vec<ModelSpec>> {
        let mut specs = gemd_server::builtin_models();
        for id in &self.remove_models {
            let before = specs.len();
            specs.retain(|s| &s.id != id);
            if specs.len() == before {
                bail!("remove_models names \"{id}\", which is not a built-in model");
            }
        }
        for m in &self.models {
            let spec = match specs.iter_mut().find(|s| s.id == m.id) {
                Some(existing) => existing,
                None => {
                    let mut base = gemd_server::builtin_models().into_iter().find(|s| s.id == "gemma-3-4b-it").expect("built-in");
                    base.id = m.id.clone();
                    base.aliases.clear();
                    base.display_name = m.id.clone();
                    base.system_instruction = true;
                    specs.push(base);
                    specs.last_mut().expect("just pushed")
                }
            };
            apply(spec, m);
        }
        Ok(specs)
    }
}

fn apply(spec: &mut ModelSpec, m: &ModelSection) {
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = &m.$field {
                spec.$field = v.clone();
            }
        };
    }
    set!(backend);
    set!(aliases);
    set!(display_name);
    set!(version);
    set!(input_token_limit);
    set!(output_token_limit);
    set!(temperature);
    set!(top_p);
    set!(top_k);
    set!(system_instruction);
    if m.description.is_some() {
        spec.description = m.description.clone();
    }
}

impl EngineSection {
    /// This section's values over `base`'s.
    pub fn over(&self, base: &EngineSection) -> EngineSection {
        EngineSection {
            threads: self.threads.or(base.threads),
            max_sequences: self.max_sequences.or(base.max_sequences),
            context_per_sequence: self.context_per_sequence.or(base.context_per_sequence),
            kv_tokens: self.kv_tokens.or(base.kv_tokens),
            batch_size: self.batch_size.or(base.batch_size),
            queue_capacity: self.queue_capacity.or(base.queue_capacity),
            prefill_chunk: self.prefill_chunk.or(base.prefill_chunk),
            prefix_cache_entries: self.prefix_cache_entries.or(base.prefix_cache_entries),
            prefix_cache_tokens: self.prefix_cache_tokens.or(base.prefix_cache_tokens),
        }
    }

    pub fn llama_config(&self, model: PathBuf) -> gemd_engine::llama::LlamaConfig {
        let mut c = gemd_engine::llama::LlamaConfig::new(model);
        if let Some(v) = self.threads { c.threads = v; }
        if let Some(v) = self.max_sequences { c.max_sequences = v; }
        if let Some(v) = self.context_per_sequence { c.context_per_sequence = v; }
        if let Some(v) = self.kv_tokens { c.kv_tokens = v; }
        if let Some(v) = self.batch_size { c.batch_size = v; }
        if let Some(v) = self.queue_capacity { c.queue_capacity = v; }
        if let Some(v) = self.prefill_chunk { c.prefill_chunk = v; }
        if let Some(v) = self.prefix_cache_entries { c.prefix_cache_entries = v; }
        if let Some(v) = self.prefix_cache_tokens { c.prefix_cache_tokens = v; }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_can_be_added_changed_and_removed() {
        let c: Config = toml::from_str(
            r#"
            remove_models = ["gemini-3-pro-preview"]
            [[models]]
            id = "gemini-2.5-flash"
            output_token_limit = 1024
            [[models]]
            id = "my-model"
            backend = "other"
            "#,
        )
        .unwrap();
        let specs = c.catalog().unwrap();
        assert!(!specs.iter().any(|s| s.id == "gemini-3-pro-preview"));
        assert_eq!(specs.iter().find(|s| s.id == "gemini-2.5-flash").unwrap().output_token_limit, 1024);
        assert_eq!(specs.iter().find(|s| s.id == "my-model").unwrap().backend, "other");
    }

    #[test]
    fn unknown_keys_and_bad_removals_are_errors() {
        assert!(toml::from_str::<Config>("prot = 1").is_err());
        let c: Config = toml::from_str("remove_models = [\"nope\"]").unwrap();
        assert!(c.catalog().is_err());
    }
}
