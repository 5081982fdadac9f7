//! Loading what `serve` runs: the llama backends (after the memory check, so an oversized
//! configuration is refused before anything is loaded), the clients of the upstream backends
//! and the embedders the catalog uses.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::llama::{LlamaConfig, LlamaEngine};
use gemd_engine::upstream::{Capabilities, Recording, Upstream, UpstreamConfig, UpstreamProtocol, DEFAULT_TIMEOUT};
use gemd_engine::{Embedder, Engine};
use gemd_server::{ModelSpec, DEFAULT_EMBEDDER};

use crate::config::{EmbedderSection, UpstreamKind, UpstreamSection};
use crate::{memory, pull};

/// Estimates every backend's memory from its GGUF header and refuses to start when they
/// would not fit in the available memory (memory.rs); logs each estimate otherwise.
pub fn check_memory(configs: &[(String, LlamaConfig)]) -> anyhow::Result<()> {
    let mut estimates = Vec::new();
    for (name, c) in configs {
        let estimate = match memory::estimate(c) {
            Ok(e) => e,
            // Not a transformer sized the usual way: count its weights alone.
            Err(e @ memory::EstimateError::Missing { .. }) => {
                tracing::warn!(backend = %name, "{e}; counting its weights only");
                let weights = std::fs::metadata(&c.model_path).map(|m| m.len()).unwrap_or(0);
                memory::Estimate { weights, kv: 0, kv_cells: memory::kv_cells(c) }
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("backend {name}"))),
        };
        estimates.push(memory::BackendEstimate { backend: name.clone(), model: c.model_path.clone(), estimate });
    }
    let available = memory::available_memory();
    memory::check(&estimates, available)?;
    for e in &estimates {
        tracing::info!("memory estimate: {e}");
    }
    if let Some(a) = available {
        let total: u64 = estimates.iter().map(|e| e.estimate.total()).sum();
        tracing::info!("memory estimate: {} MiB in all, {} MiB available", total >> 20, a >> 20);
    }
    Ok(())
}

pub fn load_llama(config: LlamaConfig) -> anyhow::Result<Arc<dyn Engine>> {
    let path = config.model_path.clone();
    let started = std::time::Instant::now();
    let engine = LlamaEngine::load(config).with_context(|| format!("loading {}", path.display()))?;
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(backend = %engine.info().name, ms, "model loaded");
    Ok(Arc::new(engine))
}

/// The client of each upstream backend. Keys come from `api_keys` and the variable
/// `api_keys_env` names (comma-separated); a named variable that is unset is an error, so a
/// deployment that forgot its secret does not start sending no key.
pub fn upstreams(
    sections: &BTreeMap<String, UpstreamSection>,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<BTreeMap<String, Arc<Upstream>>> {
    let mut out = BTreeMap::new();
    for (name, u) in sections {
        let protocol = match u.kind {
            UpstreamKind::Gemini => UpstreamProtocol::Gemini,
            UpstreamKind::OpenAi => UpstreamProtocol::OpenAi,
        };
        let mut c = UpstreamConfig::new(name, &u.base_url, protocol);
        if let Some(list) = &u.capabilities {
            c.capabilities = Capabilities::listed(list);
        }
        c.model = u.model.clone();
        c.api_keys = u.api_keys.clone();
        // A replaying backend sends nothing, so CI may run the recording's config without
        // the secret.
        let replays = matches!(u.recording, Some(Recording::Replay(_)));
        if let Some(var) = u.api_keys_env.as_ref().filter(|_| !replays) {
            let value =
                lookup(var).with_context(|| format!("[backends.{name}] api_keys_env names {var}, which is not set"))?;
            c.api_keys.extend(value.split(',').map(str::trim).filter(|k| !k.is_empty()).map(String::from));
        }
        c.recording = u.recording.clone();
        c.timeout = u.timeout_seconds.map(std::time::Duration::from_secs).unwrap_or(DEFAULT_TIMEOUT);
        c.proxy = u.proxy.clone();
        c.headers = u.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(n) = u.retries {
            c.backoff.retries = n;
        }
        let b = &u.breaker;
        let seconds = std::time::Duration::from_secs;
        c.breaker.failures = b.failures.unwrap_or(c.breaker.failures);
        c.breaker.cooldown = b.cooldown_seconds.map(seconds).unwrap_or(c.breaker.cooldown);
        c.breaker.max_cooldown =
            b.max_cooldown_seconds.map(seconds).unwrap_or(c.breaker.max_cooldown).max(c.breaker.cooldown);
        let keys = c.api_keys.len();
        let upstream = Upstream::new(c).with_context(|| format!("[backends.{name}]"))?;
        tracing::info!(backend = %name, base_url = %u.base_url, keys, kind = ?protocol, recording = ?u.recording, "upstream backend");
        out.insert(name.clone(), Arc::new(upstream));
    }
    Ok(out)
}

/// Loads the embedders some embedding id uses (none when every embedding id is removed): a
/// configured directory, or for `default` the embedded all-MiniLM-L6-v2, fetched if missing.
pub fn load_embedders(
    embedders: &BTreeMap<String, EmbedderSection>,
    specs: &[ModelSpec],
    home: &Path,
) -> anyhow::Result<BTreeMap<String, Arc<dyn Embedder>>> {
    let mut loaded: BTreeMap<String, Arc<dyn Embedder>> = BTreeMap::new();
    for name in specs.iter().map(|s| &s.backend) {
        if loaded.contains_key(name) {
            continue;
        }
        let dir = match embedders.get(name) {
            Some(e) => e.model.clone(),
            None if name == DEFAULT_EMBEDDER => pull::ensure_embedding_model(home, false)?,
            None => continue, // the catalog names the id and the missing embedder
        };
        let started = std::time::Instant::now();
        let embedder = BertEmbedder::load(BertEmbedderConfig::new(&dir))
            .with_context(|| format!("loading the embedder in {}", dir.display()))?;
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            embedder = %embedder.name(),
            dimension = embedder.dimension(),
            ms,
            "embedding model ready (its weights load on the first embedding call)"
        );
        loaded.insert(name.clone(), Arc::new(embedder));
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Config;

    #[test]
    fn an_upstreams_retries_and_breaker_come_from_its_section() {
        let c: Config = toml::from_str(
            "[backends.g]\nkind = \"gemini\"\nbase_url = \"http://127.0.0.1:9\"\napi_keys_env = \"KEYS\"\nretries = 0\n\
             [backends.g.breaker]\nfailures = 5\ncooldown_seconds = 2\n\
             [backends.o]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"",
        )
        .unwrap();
        let sections = c.backends.iter().filter_map(|(n, b)| Some((n.clone(), b.upstream()?.clone()))).collect();
        let built = upstreams(&sections, |var| (var == "KEYS").then(|| "k1, k2".to_string())).unwrap();
        let g = built["g"].transport().config();
        assert_eq!((g.backoff.retries, g.api_keys.len()), (0, 2));
        assert_eq!(
            (g.breaker.failures, g.breaker.cooldown, g.breaker.max_cooldown),
            (5, Duration::from_secs(2), Duration::from_secs(120))
        );
        let o = built["o"].transport().config();
        assert_eq!((o.backoff.retries, o.breaker), (2, gemd_engine::upstream::BreakerPolicy::default()));
    }
}
