//! The TOML configuration file: server settings, backends, and changes to the built-in model
//! catalog. See docs/configuration.md for every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use gemd_server::{CorsPolicy, ModelSpec, ServerLimits, DEFAULT_ALLOW_HEADERS};
use serde::Deserialize;

use crate::chat_template::ChatTemplate;
use crate::model_ref::ModelRef;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub host: Option<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub api_keys: Vec<String>,
    pub max_body_bytes: Option<usize>,
    /// Seconds for a request's headers to arrive, from the connection's start or the
    /// request's first byte (default 20).
    pub header_timeout_seconds: Option<u64>,
    /// Seconds for a request's whole body to arrive (default 60), plus one per
    /// `body_min_bytes_per_second` bytes received (default 65536).
    pub body_timeout_seconds: Option<u64>,
    pub body_min_bytes_per_second: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request (default 60).
    pub idle_timeout_seconds: Option<u64>,
    /// Connections served at once per listener (default 512).
    pub max_connections: Option<usize>,
    /// `host:port` to serve the admin API and the console on, and only there (default: on
    /// the public port).
    pub admin_listen: Option<String>,
    /// Which browser origins may call the public API.
    #[serde(default)]
    pub cors: CorsSection,
    /// Seconds a shutdown waits for in-flight requests (default 30).
    pub drain_seconds: Option<u64>,
    /// Tier of the default project when it is created (free unless set).
    pub default_tier: Option<String>,
    pub redis_url: Option<String>,
    pub database_url: Option<String>,
    #[serde(default)]
    pub quota_fail_open: bool,
    /// Per-tier, per-model limits over the built-in table: `[quota.free."gemini-2.5-flash"]`.
    #[serde(default)]
    pub quota: BTreeMap<String, BTreeMap<String, LimitSection>>,
    /// Sizing of the default backend (and the defaults of other llama backends).
    #[serde(default)]
    pub engine: EngineSection,
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

/// `[cors]`: absent keys keep Google's behaviour (any origin, the SDKs' headers).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSection {
    /// Exact origins (`https://app.example`), `"*"` for any; `[]` turns CORS off.
    pub allow_origins: Option<Vec<String>>,
    /// Request headers a page may send (replaces the default list).
    pub allow_headers: Option<Vec<String>>,
    /// How long a browser may cache a preflight answer.
    pub max_age_seconds: Option<u64>,
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
    /// Batch-invariant kernels (default true): see docs/configuration.md.
    pub batch_invariant: Option<bool>,
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
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")))?;
        Ok(config)
    }

    /// Takes the file's relative paths relative to `base`, its directory, and checks that
    /// every chat template file exists.
    fn resolve_paths(&mut self, base: &Path) -> anyhow::Result<()> {
        for (name, b) in &mut self.backends {
            b.model = b.model.clone().relative_to(base);
            if let Some(t) = b.chat_template.take() {
                b.chat_template = Some(t.resolved(base).with_context(|| format!("[backends.{name}] chat_template"))?);
            }
        }
        for e in self.embedders.values_mut().filter(|e| e.model.is_relative()) {
            e.model = base.join(&e.model);
        }
        Ok(())
    }

    /// The server's limits: this file's values over the defaults, `max_connections` from the
    /// command line over both.
    pub fn server_limits(&self, max_connections: Option<usize>) -> anyhow::Result<ServerLimits> {
        let d = ServerLimits::default();
        let seconds = |key: &str, v: Option<u64>, default: Duration| match v {
            Some(0) => bail!("`{key}` must be at least 1"),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        };
        let max_connections = max_connections.or(self.max_connections).unwrap_or(d.max_connections);
        if max_connections == 0 {
            bail!("`max_connections` must be at least 1");
        }
        let cors = CorsPolicy::new(
            self.cors.allow_origins.clone().unwrap_or_else(|| vec!["*".into()]),
            self.cors.allow_headers.clone().unwrap_or_else(|| DEFAULT_ALLOW_HEADERS.iter().map(|h| h.to_string()).collect()),
            self.cors.max_age_seconds.map_or(Duration::from_secs(3600), Duration::from_secs),
        )
        .context("[cors]")?;
        Ok(ServerLimits {
            max_body_bytes: self.max_body_bytes.unwrap_or(d.max_body_bytes),
            header_timeout: seconds("header_timeout_seconds", self.header_timeout_seconds, d.header_timeout)?,
            body_timeout: seconds("body_timeout_seconds", self.body_timeout_seconds, d.body_timeout)?,
            body_min_bytes_per_second: match self.body_min_bytes_per_second {
                Some(0) => bail!("`body_min_bytes_per_second` must be at least 1"),
                v => v.unwrap_or(d.body_min_bytes_per_second),
            },
            idle_timeout: seconds("idle_timeout_seconds", self.idle_timeout_seconds, d.idle_timeout)?,
            max_connections,
            cors,
        })
    }

    /// The built-in quota table with this file's overrides.
    pub fn quota_table(&self) -> anyhow::Result<gemd_server::QuotaTable> {
        let mut table = gemd_server::QuotaTable::default();
        for (tier, models) in &self.quota {
            let tier: gemd_store::Tier = tier.parse().map_err(anyhow::Error::msg)?;
            for (model, l) in models {
                table.set(tier, model, gemd_quota::Limits { rpm: l.rpm, tpm: l.tpm, rpd: l.rpd });
            }
        }
        Ok(table)
    }

    /// The built-in catalog with this file's removals, overrides and additions applied.
    pub fn catalog(&self) -> anyhow::Result<Vec<ModelSpec>> {
        let mut specs = gemd_server::builtin_models();
        let embedding_ids: Vec<String> = gemd_server::builtin_embedding_models().into_iter().map(|s| s.id).collect();
        for id in &self.remove_models {
            let before = specs.len();
            specs.retain(|s| &s.id != id);
            if specs.len() == before && !embedding_ids.contains(id) {
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
                    base.generative_mut().expect("a generative model").system_instruction = true;
                    specs.push(base);
                    specs.last_mut().expect("just pushed")
                }
            };
            apply(spec, m);
        }
        Ok(specs)
    }

    /// The built-in embedding ids with this file's removals, overrides and additions applied
    /// (an added id starts as a copy of `gemini-embedding-001` on the default embedder).
    pub fn embedding_catalog(&self) -> anyhow::Result<Vec<ModelSpec>> {
        let mut specs = gemd_server::builtin_embedding_models();
        specs.retain(|s| !self.remove_models.contains(&s.id));
        for m in &self.embedding_models {
            let generative_only = [
                ("output_token_limit", m.output_token_limit.is_some()),
                ("temperature", m.temperature.is_some()),
                ("top_p", m.top_p.is_some()),
                ("top_k", m.top_k.is_some()),
                ("system_instruction", m.system_instruction.is_some()),
            ];
            if let Some((key, _)) = generative_only.iter().find(|(_, set)| *set) {
                bail!("embedding_models entry \"{}\": `{key}` applies to generative models only", m.id);
            }
            let spec = match specs.iter().position(|s| s.id == m.id) {
                Some(i) => &mut specs[i],
                None => {
                    let mut base = gemd_server::builtin_embedding_models().remove(0);
                    base.id = m.id.clone();
                    base.display_name = m.id.clone();
                    specs.push(base);
                    specs.last_mut().expect("just pushed")
                }
            };
            if let Some(v) = &m.backend { spec.backend = v.clone(); }
            if let Some(v) = &m.aliases { spec.aliases = v.clone(); }
            if let Some(v) = &m.display_name { spec.display_name = v.clone(); }
            if let Some(v) = &m.version { spec.version = v.clone(); }
            if let Some(v) = m.input_token_limit { spec.input_token_limit = v; }
            if m.description.is_some() { spec.description = m.description.clone(); }
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
    if let Some(g) = spec.generative_mut() {
        macro_rules! set_generative {
            ($field:ident) => {
                if let Some(v) = &m.$field {
                    g.$field = v.clone();
                }
            };
        }
        set_generative!(output_token_limit);
        // A lower configured cap lowers answers; a higher one also raises what requests may ask.
        g.accepted_output_tokens = g.accepted_output_tokens.max(g.output_token_limit);
        set_generative!(temperature);
        set_generative!(top_p);
        set_generative!(top_k);
        set_generative!(system_instruction);
    }
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
            batch_invariant: self.batch_invariant.or(base.batch_invariant),
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
        if let Some(v) = self.batch_invariant { c.kernels = gemd_engine::llama::kernels::Kernels::from_batch_invariant(v); }
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
        assert_eq!(specs.iter().find(|s| s.id == "gemini-2.5-flash").unwrap().generative().unwrap().output_token_limit, 1024);
        assert_eq!(specs.iter().find(|s| s.id == "my-model").unwrap().backend, "other");
    }

    #[test]
    fn embedding_ids_can_be_added_changed_and_removed() {
        let c: Config = toml::from_str(
            r#"
            remove_models = ["text-embedding-004"]
            [embedders.bge]
            model = "bge-small"
            [[embedding_models]]
            id = "gemini-embedding-001"
            backend = "bge"
            [[embedding_models]]
            id = "my-embedder"
            aliases = ["mine"]
            "#,
        )
        .unwrap();
        let specs = c.embedding_catalog().unwrap();
        assert!(!specs.iter().any(|s| s.id == "text-embedding-004"));
        assert_eq!(specs.iter().find(|s| s.id == "gemini-embedding-001").unwrap().backend, "bge");
        let mine = specs.iter().find(|s| s.id == "my-embedder").unwrap();
        assert_eq!((mine.backend.as_str(), mine.aliases.clone()), (gemd_server::DEFAULT_EMBEDDER, vec!["mine".to_string()]));
        assert!(c.catalog().is_ok(), "removing an embedding id is a valid removal");
        let bad: Config = toml::from_str("[[embedding_models]]\nid = \"e\"\ntemperature = 1.0").unwrap();
        assert!(bad.embedding_catalog().is_err());
    }

    #[test]
    fn server_limits_default_and_can_be_set() {
        let d = ServerLimits::default();
        let l = Config::default().server_limits(None).unwrap();
        assert_eq!((l.header_timeout, l.idle_timeout, l.max_connections), (d.header_timeout, d.idle_timeout, d.max_connections));
        let c: Config = toml::from_str(
            "header_timeout_seconds = 5\nbody_timeout_seconds = 7\nidle_timeout_seconds = 9\nmax_connections = 64\nadmin_listen = \"127.0.0.1:8081\"\n[cors]\nallow_origins = []",
        )
        .unwrap();
        let l = c.server_limits(Some(32)).unwrap();
        assert_eq!((l.header_timeout.as_secs(), l.body_timeout.as_secs(), l.idle_timeout.as_secs()), (5, 7, 9));
        assert_eq!(l.max_connections, 32, "the command line wins");
        assert_eq!(c.admin_listen.as_deref(), Some("127.0.0.1:8081"));
        assert!(toml::from_str::<Config>("idle_timeout_seconds = 0").unwrap().server_limits(None).is_err());
        assert!(toml::from_str::<Config>("[cors]\nallow_origins = [\"example.com\"]").unwrap().server_limits(None).is_err());
    }

    #[test]
    fn unknown_keys_and_bad_removals_are_errors() {
        assert!(toml::from_str::<Config>("prot = 1").is_err());
        let c: Config = toml::from_str("remove_models = [\"nope\"]").unwrap();
        assert!(c.catalog().is_err());
    }

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
        let config = Config::load(Some(&dir.join("gemd.toml")));
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
        assert!(e.contains("[backends.b] chat_template") && e.contains("qwen.jinja") && e.contains("chatml, gemma"), "{e}");
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
        let (dir, _) = config_in("relative", "[backends.a]\nmodel = \"a.gguf\"\nchat_template = \"t.jinja\"", &["t.jinja"]);
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
        let mut p: PathBuf = std::iter::repeat("..").take(ups).collect();
        p.push(to.strip_prefix("/").unwrap());
        p
    }
}
