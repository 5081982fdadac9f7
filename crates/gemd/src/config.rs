//! The TOML configuration file: the option groups' keys (options.rs: top-level keys and the
//! `[engine]` and `[cors]` tables, layered under flags and environment by settings/), and the
//! tables only the file has: backends, embedders, changes to the built-in catalog and quota
//! overrides. See docs/configuration.md for every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gemd_engine::upstream::{Capability, Recording};
use serde::Deserialize;

use crate::chat_template::{ChatTemplate, TemplateError};
use crate::model_ref::ModelRef;
use crate::settings::options::{
    ConsoleOptions, CorsOptions, EngineOptions, FileOptions, KeyOptions, LimitOptions, ListenOptions, QuotaOptions,
    StoreOptions,
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
    #[serde(flatten)]
    pub files: FileOptions,
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

/// One `[backends.NAME]` table: a local llama.cpp backend (`kind = "llama"`, the default) or
/// an upstream server (`kind = "gemini"` or `"openai"`). The keys of each kind are refused
/// on the other.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawBackendSection")]
pub enum BackendSection {
    Llama(LlamaSection),
    Upstream(UpstreamSection),
}

#[derive(Debug, Clone)]
pub struct LlamaSection {
    /// A known model's short name (fetched when missing) or the path of a GGUF file
    /// (relative paths are relative to the config file).
    pub model: ModelRef,
    /// The chat template instead of the GGUF's own: a built-in name or a Jinja file
    /// (relative to the config file; it must exist).
    pub chat_template: Option<ChatTemplate>,
    /// This backend's sizing, over the top-level `[engine]` values.
    pub engine: EngineOptions,
}

/// A server gemd forwards to.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamSection {
    pub kind: UpstreamKind,
    /// Gemini: the API's root, without the version (`https://…`, `http://127.0.0.1:8081`);
    /// OpenAI: the root with its version prefix (`http://127.0.0.1:8000/v1`).
    pub base_url: String,
    /// The upstream's id for the model; absent: the public id.
    pub model: Option<String>,
    pub api_keys: Vec<String>,
    /// An environment variable holding more keys, separated by commas.
    pub api_keys_env: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub proxy: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// What the upstream can take; absent: the kind's default ([`Capabilities::of_kind`]).
    pub capabilities: Option<Vec<Capability>>,
    /// `record = "DIR"` or `replay = "DIR"` (relative to the config file).
    pub recording: Option<Recording>,
    /// Retries of a failure before the first byte (after the first attempt); absent: 2.
    pub retries: Option<u32>,
    /// `[backends.NAME.breaker]`: when the backend is skipped as unhealthy.
    pub breaker: BreakerSection,
}

/// The circuit breaker's thresholds; absent keys keep the defaults (3 failures in a row
/// open it for 10 s, doubling up to 120 s).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSection {
    pub failures: Option<u32>,
    pub cooldown_seconds: Option<u64>,
    pub max_cooldown_seconds: Option<u64>,
}

/// The protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamKind {
    Gemini,
    OpenAi,
}

/// What kind of backend a section is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Llama,
    Gemini,
    Openai,
}

/// A `[backends.NAME]` table as written, before its keys are checked against its kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackendSection {
    #[serde(default)]
    kind: BackendKind,
    model: Option<String>,
    chat_template: Option<ChatTemplate>,
    engine: Option<EngineOptions>,
    base_url: Option<String>,
    api_keys: Option<Vec<String>>,
    api_keys_env: Option<String>,
    timeout_seconds: Option<u64>,
    proxy: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    capabilities: Option<Vec<Capability>>,
    record: Option<PathBuf>,
    replay: Option<PathBuf>,
    retries: Option<u32>,
    breaker: Option<BreakerSection>,
}

impl TryFrom<RawBackendSection> for BackendSection {
    type Error = String;

    fn try_from(r: RawBackendSection) -> Result<Self, String> {
        let upstream_keys = [
            ("base_url", r.base_url.is_some()),
            ("api_keys", r.api_keys.is_some()),
            ("api_keys_env", r.api_keys_env.is_some()),
            ("timeout_seconds", r.timeout_seconds.is_some()),
            ("proxy", r.proxy.is_some()),
            ("headers", r.headers.is_some()),
            ("capabilities", r.capabilities.is_some()),
            ("record", r.record.is_some()),
            ("replay", r.replay.is_some()),
            ("retries", r.retries.is_some()),
            ("breaker", r.breaker.is_some()),
        ];
        match r.kind {
            BackendKind::Llama => {
                if let Some((key, _)) = upstream_keys.iter().find(|(_, set)| *set) {
                    return Err(format!(
                        "`{key}` is a key of upstream backends (kind = \"gemini\" or \"openai\"), not of a llama one"
                    ));
                }
                let model = r.model.ok_or("a llama backend needs `model` (a known model's name or a GGUF path)")?;
                Ok(BackendSection::Llama(LlamaSection {
                    model: ModelRef::parse(&model),
                    chat_template: r.chat_template,
                    engine: r.engine.unwrap_or_default(),
                }))
            }
            BackendKind::Gemini | BackendKind::Openai => {
                let (kind, root) = match r.kind {
                    BackendKind::Gemini => (UpstreamKind::Gemini, "the API's root, without /v1beta"),
                    _ => (UpstreamKind::OpenAi, "the API's root with its version, such as http://host:8000/v1"),
                };
                if r.chat_template.is_some() || r.engine.is_some() {
                    return Err(
                        "`chat_template` and `engine` are keys of llama backends; an upstream prompts its own model"
                            .into(),
                    );
                }
                let base_url = r.base_url.ok_or(format!("an upstream backend needs `base_url` ({root})"))?;
                if r.timeout_seconds == Some(0) {
                    return Err("`timeout_seconds` must be at least 1".into());
                }
                let breaker = r.breaker.unwrap_or_default();
                if breaker.failures == Some(0) || breaker.cooldown_seconds == Some(0) {
                    return Err("`breaker.failures` and `breaker.cooldown_seconds` must be at least 1".into());
                }
                if let (Some(c), Some(m)) = (breaker.cooldown_seconds, breaker.max_cooldown_seconds) {
                    if m < c {
                        return Err("`breaker.max_cooldown_seconds` must be at least `breaker.cooldown_seconds`".into());
                    }
                }
                let recording = match (r.record, r.replay) {
                    (Some(_), Some(_)) => {
                        return Err("`record` and `replay` are exclusive: a backend records or replays".into())
                    }
                    (Some(dir), None) => Some(Recording::Record(dir)),
                    (None, Some(dir)) => Some(Recording::Replay(dir)),
                    (None, None) => None,
                };
                Ok(BackendSection::Upstream(UpstreamSection {
                    kind,
                    base_url,
                    model: r.model,
                    api_keys: r.api_keys.unwrap_or_default(),
                    api_keys_env: r.api_keys_env,
                    timeout_seconds: r.timeout_seconds,
                    proxy: r.proxy,
                    headers: r.headers.unwrap_or_default(),
                    capabilities: r.capabilities,
                    recording,
                    retries: r.retries,
                    breaker,
                }))
            }
        }
    }
}

impl BackendSection {
    pub fn llama(&self) -> Option<&LlamaSection> {
        match self {
            BackendSection::Llama(l) => Some(l),
            BackendSection::Upstream(_) => None,
        }
    }

    pub fn upstream(&self) -> Option<&UpstreamSection> {
        match self {
            BackendSection::Upstream(u) => Some(u),
            BackendSection::Llama(_) => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub id: String,
    pub backend: Option<String>,
    /// Backends in the order they are tried (`backend` is the one-element form).
    pub backends: Option<Vec<String>>,
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
    /// The fewest tokens a context cache for this id may hold.
    pub min_cache_tokens: Option<u32>,
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
            let b = match b {
                BackendSection::Llama(b) => b,
                BackendSection::Upstream(u) => {
                    if let Some(Recording::Record(dir) | Recording::Replay(dir)) = &mut u.recording {
                        // Absolute, as a template's path is: the directory is used long after
                        // start, whatever the working directory is by then.
                        let joined = base.join(&*dir);
                        *dir = std::path::absolute(&joined).unwrap_or(joined);
                    }
                    continue;
                }
            };
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
        let model = |name: &str| c.backends[name].llama().expect("a llama backend").model.clone();
        assert_eq!(model("a"), ModelRef::Known(crate::known_models::find("smollm2-135m-instruct").unwrap()));
        assert_eq!(model("b"), ModelRef::Path(dir.join("m/x.gguf")));
        assert_eq!(model("c"), ModelRef::Path("/abs/y.gguf".into()));
        assert_eq!(model("d"), ModelRef::Path(dir.join("./smollm2-135m-instruct")), "./NAME is a file");
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
        assert_eq!(c.backends["a"].llama().unwrap().chat_template, Some(ChatTemplate::BuiltIn("chatml")));
        let Some(ChatTemplate::File(path)) = &c.backends["b"].llama().unwrap().chat_template else {
            panic!("a file template")
        };
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
        let Some(ChatTemplate::File(path)) = &c.backends["a"].llama().unwrap().chat_template else {
            panic!("a file template")
        };
        assert!(path.is_absolute() && path.is_file(), "{}", path.display());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_upstream_backend_takes_its_keys_and_refuses_the_other_kinds() {
        let c: Config = toml::from_str(
            "[backends.google]\nkind = \"gemini\"\nbase_url = \"https://api.example\"\napi_keys = [\"k1\", \"k2\"]\n\
             api_keys_env = \"MORE_KEYS\"\nmodel = \"gemini-2.5-flash-001\"\ntimeout_seconds = 30\nproxy = \"http://127.0.0.1:3128\"\n\
             headers = { x-team = \"a\" }\n[[models]]\nid = \"gemini-2.5-flash\"\nbackends = [\"google\", \"default\"]",
        )
        .unwrap();
        let u = c.backends["google"].upstream().expect("an upstream");
        assert_eq!((u.base_url.as_str(), u.api_keys.len(), u.timeout_seconds), ("https://api.example", 2, Some(30)));
        assert_eq!(
            (u.model.as_deref(), u.proxy.as_deref()),
            (Some("gemini-2.5-flash-001"), Some("http://127.0.0.1:3128"))
        );
        assert_eq!(u.headers["x-team"], "a");
        assert_eq!((u.retries, u.breaker), (None, BreakerSection::default()));
        let tuned: Config = toml::from_str(
            "[backends.g]\nkind = \"gemini\"\nbase_url = \"http://x\"\nretries = 0\n\
             [backends.g.breaker]\nfailures = 5\ncooldown_seconds = 2\nmax_cooldown_seconds = 30",
        )
        .unwrap();
        let t = tuned.backends["g"].upstream().unwrap();
        let want = BreakerSection { failures: Some(5), cooldown_seconds: Some(2), max_cooldown_seconds: Some(30) };
        assert_eq!((t.retries, t.breaker), (Some(0), want));
        assert_eq!(c.models[0].backends.as_deref(), Some(&["google".to_string(), "default".to_string()][..]));
        for (toml, needle) in [
            ("[backends.a]\nmodel = \"m.gguf\"\nbase_url = \"http://x\"", "`base_url` is a key of upstream backends"),
            ("[backends.a]\nkind = \"gemini\"", "needs `base_url`"),
            (
                "[backends.a]\nkind = \"gemini\"\nbase_url = \"http://x\"\nchat_template = \"chatml\"",
                "keys of llama backends",
            ),
            ("[backends.a]\nkind = \"openai\"", "such as http://host:8000/v1"),
            ("[backends.a]\nkind = \"openai\"\nbase_url = \"http://x\"\ncapabilities = [\"smell\"]", "unknown variant"),
            ("[backends.a]\nmodel = \"m.gguf\"\ncapabilities = [\"text\"]", "`capabilities` is a key of upstream"),
            ("[backends.a]\nkind = \"grpc\"", "unknown variant"),
            ("[backends.a]\nkind = \"gemini\"\nbase_url = \"http://x\"\ntimeout_seconds = 0", "at least 1"),
            ("[backends.a]\nkind = \"gemini\"\nbase_url = \"http://x\"\n[backends.a.breaker]\nfailures = 0", "at least 1"),
            (
                "[backends.a]\nkind = \"gemini\"\nbase_url = \"http://x\"\n[backends.a.breaker]\ncooldown_seconds = 30\nmax_cooldown_seconds = 5",
                "at least `breaker.cooldown_seconds`",
            ),
            ("[backends.a]\nkind = \"gemini\"\nbase_url = \"http://x\"\n[backends.a.breaker]\nopen = 1", "unknown field"),
            ("[backends.a]\nmodel = \"m.gguf\"\nretries = 1", "`retries` is a key of upstream"),
        ] {
            let e = toml::from_str::<Config>(toml).unwrap_err().to_string();
            assert!(e.contains(needle), "{toml}: {e}");
        }
    }

    #[test]
    fn record_and_replay_directories_are_relative_to_the_file_and_exclusive() {
        let (dir, c) = config_in(
            "recording",
            "[backends.r]\nkind = \"gemini\"\nbase_url = \"http://x\"\nrecord = \"rec\"\n\
             [backends.p]\nkind = \"openai\"\nbase_url = \"http://x/v1\"\nreplay = \"/abs/rec\"",
            &[],
        );
        let c = c.unwrap();
        assert_eq!(c.backends["r"].upstream().unwrap().recording, Some(Recording::Record(dir.join("rec"))));
        assert_eq!(c.backends["p"].upstream().unwrap().recording, Some(Recording::Replay("/abs/rec".into())));
        for (toml, needle) in [
            ("[backends.a]\nkind = \"gemini\"\nbase_url = \"http://x\"\nrecord = \"a\"\nreplay = \"a\"", "exclusive"),
            ("[backends.a]\nmodel = \"m.gguf\"\nreplay = \"a\"", "`replay` is a key of upstream"),
        ] {
            let e = toml::from_str::<Config>(toml).unwrap_err().to_string();
            assert!(e.contains(needle), "{toml}: {e}");
        }
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
