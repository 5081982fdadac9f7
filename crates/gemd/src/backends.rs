//! The llama backends `serve` starts and `gemd models` lists: the default one (from the
//! `--model`/`--chat-template` flags, else `[backends.default]`, else the default known
//! model) and every other `[backends.NAME]`, each with its model, chat template and sizing:
//! its own `[backends.NAME.engine]` keys over the shared `[engine]` ones (which flags and
//! environment set, settings/), over the engine's defaults (`LlamaConfig::new`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gemd_engine::llama::kernels::Kernels;
use gemd_engine::llama::LlamaConfig;
use gemd_server::DEFAULT_BACKEND;

use crate::chat_template::ChatTemplate;
use crate::config::{BackendSection, Config, UpstreamSection};
use crate::model_ref::ModelRef;
use crate::settings::options::{either, EngineOptions};

#[derive(Debug, Clone)]
pub struct Backend {
    pub name: String,
    pub model: ModelRef,
    pub chat_template: Option<ChatTemplate>,
    /// The backend's own `[engine]` keys over the top-level ones.
    pub engine: EngineOptions,
}

/// Every llama backend, the default first; nothing is fetched or read. `engine` is the shared
/// sizing (the file's `[engine]` under flags and environment); `model` and `chat_template`
/// (the flags) override the default backend's.
pub fn backends(
    config: &Config,
    engine: &EngineOptions,
    model: Option<ModelRef>,
    chat_template: Option<ChatTemplate>,
) -> Vec<Backend> {
    let configured = config.backends.get(DEFAULT_BACKEND);
    if configured.is_some_and(|b| b.upstream().is_some()) && model.is_none() {
        // `[backends.default]` is an upstream: no local default engine, unless `--model`
        // asks for one (a flag wins over the file).
        return others(config, engine).collect();
    }
    let configured = configured.and_then(BackendSection::llama);
    let default = Backend {
        name: DEFAULT_BACKEND.into(),
        model: model.or_else(|| configured.map(|b| b.model.clone())).unwrap_or_else(ModelRef::default_model),
        chat_template: chat_template.or_else(|| configured.and_then(|b| b.chat_template.clone())),
        engine: configured.map(|b| b.engine.over(engine)).unwrap_or_else(|| engine.clone()),
    };
    std::iter::once(default).chain(others(config, engine)).collect()
}

/// The llama backends other than the default.
fn others<'a>(config: &'a Config, engine: &'a EngineOptions) -> impl Iterator<Item = Backend> + 'a {
    let llama = config.backends.iter().filter_map(|(name, b)| b.llama().map(|l| (name, l)));
    llama.filter(|(n, _)| n.as_str() != DEFAULT_BACKEND).map(|(name, b)| Backend {
        name: name.clone(),
        model: b.model.clone(),
        chat_template: b.chat_template.clone(),
        engine: b.engine.over(engine),
    })
}

/// The upstream backends, by name: every `kind = "gemini"` table, except a default one that
/// `--model` replaced with a local engine.
pub fn upstreams(config: &Config, model_flag: bool) -> BTreeMap<String, UpstreamSection> {
    let upstream = config.backends.iter().filter_map(|(name, b)| b.upstream().map(|u| (name, u)));
    upstream
        .filter(|(n, _)| !(model_flag && n.as_str() == DEFAULT_BACKEND))
        .map(|(n, u)| (n.clone(), u.clone()))
        .collect()
}

impl Backend {
    /// The engine's configuration, a known model fetched (and verified) first if needed.
    pub fn llama_config(&self, home: &Path) -> anyhow::Result<LlamaConfig> {
        let mut c = self.engine.llama_config(self.model.resolve(home)?);
        c.chat_template = self.chat_template.as_ref().map(ChatTemplate::config_value);
        Ok(c)
    }
}

impl EngineOptions {
    /// This table's values over `base`'s (a `--no-` flag counting as its option's `false`).
    pub fn over(&self, base: &EngineOptions) -> EngineOptions {
        EngineOptions {
            threads: self.threads.or(base.threads),
            max_sequences: self.max_sequences.or(base.max_sequences),
            context_per_sequence: self.context_per_sequence.or(base.context_per_sequence),
            kv_tokens: self.kv_tokens.or(base.kv_tokens),
            batch_size: self.batch_size.or(base.batch_size),
            queue_capacity: self.queue_capacity.or(base.queue_capacity),
            prefill_chunk: self.prefill_chunk.or(base.prefill_chunk),
            prefix_cache_entries: self.prefix_cache_entries.or(base.prefix_cache_entries),
            prefix_cache_tokens: self.prefix_cache_tokens.or(base.prefix_cache_tokens),
            batch_invariant: either(self.batch_invariant, self.no_batch_invariant)
                .or(either(base.batch_invariant, base.no_batch_invariant)),
            no_batch_invariant: false,
        }
    }

    /// The engine's configuration for `model`: these values over the engine's defaults.
    pub fn llama_config(&self, model: PathBuf) -> LlamaConfig {
        let mut c = LlamaConfig::new(model);
        let set = |slot: &mut u32, v: Option<u32>| *slot = v.unwrap_or(*slot);
        c.threads = self.threads.unwrap_or(c.threads);
        set(&mut c.max_sequences, self.max_sequences);
        set(&mut c.context_per_sequence, self.context_per_sequence);
        set(&mut c.kv_tokens, self.kv_tokens);
        set(&mut c.batch_size, self.batch_size);
        c.queue_capacity = self.queue_capacity.unwrap_or(c.queue_capacity);
        set(&mut c.prefill_chunk, self.prefill_chunk);
        set(&mut c.prefix_cache_entries, self.prefix_cache_entries);
        set(&mut c.prefix_cache_tokens, self.prefix_cache_tokens);
        if let Some(v) = either(self.batch_invariant, self.no_batch_invariant) {
            c.kernels = Kernels::from_batch_invariant(v);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_default_backend_and_the_rest_keep_their_own() {
        let c: Config = toml::from_str(
            "[engine]\nkv_tokens = 4096\n[backends.default]\nmodel = \"/d.gguf\"\nchat_template = \"gemma\"\n[backends.default.engine]\nmax_sequences = 2\n[backends.small]\nmodel = \"smollm2-135m-instruct\"\nchat_template = \"chatml\"",
        )
        .unwrap();
        let b = backends(&c, &c.engine, None, None);
        assert_eq!(
            (b[0].name.as_str(), &b[0].model, &b[0].chat_template),
            ("default", &ModelRef::Path("/d.gguf".into()), &Some(ChatTemplate::BuiltIn("gemma")))
        );
        assert_eq!((b[0].engine.kv_tokens, b[0].engine.max_sequences), (Some(4096), Some(2)));
        assert_eq!((b[1].name.as_str(), b[1].chat_template.clone()), ("small", Some(ChatTemplate::BuiltIn("chatml"))));
        let b = backends(&c, &c.engine, Some(ModelRef::parse("gemma-3-270m")), Some(ChatTemplate::parse("plain")));
        assert_eq!(
            (&b[0].model, &b[0].chat_template),
            (&ModelRef::parse("gemma-3-270m"), &Some(ChatTemplate::BuiltIn("plain")))
        );
        let b = backends(&Config::default(), &EngineOptions::default(), None, None);
        assert_eq!((b.len(), &b[0].model), (1, &ModelRef::default_model()));
    }

    #[test]
    fn a_path_model_and_its_template_reach_the_llama_config() {
        let backend = Backend {
            name: "x".into(),
            model: ModelRef::Path("/m.gguf".into()),
            chat_template: Some(ChatTemplate::File("/t/qwen.jinja".into())),
            engine: EngineOptions::default(),
        };
        let c = backend.llama_config(Path::new("/nonexistent-home")).unwrap();
        assert_eq!((c.model_path.as_path(), c.chat_template.as_deref()), (Path::new("/m.gguf"), Some("/t/qwen.jinja")));
    }
}
