//! The memory check `serve` makes before loading anything: each llama backend's weights (its
//! file's size) and KV cache (sized from its GGUF header and its LlamaConfig), summed and
//! compared with the memory the machine has available. Without it an oversized configuration
//! starts loading and is killed by the OOM killer part-way, with nothing said about why.

use std::path::{Path, PathBuf};

use gemd_engine::gguf::{GgufError, Metadata, Value};
use gemd_engine::llama::kernels::Kernels;
use gemd_engine::llama::LlamaConfig;

const MIB: f64 = 1024.0 * 1024.0;

/// One backend's estimated memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// The model file's size (llama.cpp maps it whole).
    pub weights: u64,
    pub kv: u64,
    /// The KV cells the engine allocates: `kv_tokens` plus the prefix cache's tokens.
    pub kv_cells: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.weights.saturating_add(self.kv)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    #[error("reading the size of {path}: {source}")]
    Size { path: PathBuf, source: std::io::Error },
    #[error("reading the GGUF header of {path}: {source}")]
    Gguf { path: PathBuf, source: GgufError },
    /// The header lacks what the KV size needs (not a transformer llama.cpp sizes this way).
    #[error("{path} has no {key} in its GGUF header, so its KV cache cannot be sized")]
    Missing { path: PathBuf, key: String },
}

/// The model's attention shape, from its GGUF header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvShape {
    pub layers: u64,
    pub kv_heads: u64,
    pub key_length: u64,
    pub value_length: u64,
}

impl KvShape {
    pub fn from_metadata(m: &Metadata) -> Result<KvShape, String> {
        let arch = m.architecture().ok_or("general.architecture")?;
        let key = |k: &str| format!("{arch}.{k}");
        let need = |k: &str| m.get_u64(&key(k)).ok_or_else(|| key(k));
        let layers = need("block_count")?;
        let heads = need("attention.head_count")?;
        // Per-layer head counts (an array) are sized by their largest: an upper bound.
        let kv_heads = match m.get(&key("attention.head_count_kv")) {
            Some(Value::IntArray(v)) => v.iter().copied().max().and_then(|h| u64::try_from(h).ok()).unwrap_or(heads),
            _ => m.get_u64(&key("attention.head_count_kv")).unwrap_or(heads),
        };
        let head_dim = || Ok::<u64, String>(need("embedding_length")? / heads.max(1));
        let key_length = match m.get_u64(&key("attention.key_length")) {
            Some(v) => v,
            None => head_dim()?,
        };
        let value_length = match m.get_u64(&key("attention.value_length")) {
            Some(v) => v,
            None => head_dim()?,
        };
        Ok(KvShape { layers, kv_heads, key_length, value_length })
    }

    /// KV bytes for `cells` tokens stored as `kernels`' cache type (Q8_0: 34 bytes per block
    /// of 32 elements; F16: 2 bytes an element).
    pub fn kv_bytes(&self, cells: u64, kernels: Kernels) -> u64 {
        let elements = [self.layers, cells, self.kv_heads, self.key_length + self.value_length]
            .iter()
            .fold(1u128, |a, b| a * *b as u128);
        let bytes = match kernels {
            Kernels::Invariant => elements.div_ceil(32) * 34,
            Kernels::Default => elements * 2,
        };
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }
}

/// The KV cells `config` makes the engine allocate (as `LlamaEngine::load` sizes its context:
/// the prefix cache counts only when it is on).
pub fn kv_cells(config: &LlamaConfig) -> u64 {
    let cache_on = config.prefix_cache_entries > 0 && config.prefix_cache_tokens > 0;
    config.kv_tokens as u64 + if cache_on { config.prefix_cache_tokens as u64 } else { 0 }
}

/// Estimates the memory `config`'s backend will take, reading only its file's header.
pub fn estimate(config: &LlamaConfig) -> Result<Estimate, EstimateError> {
    let path = &config.model_path;
    let weights = std::fs::metadata(path).map_err(|source| EstimateError::Size { path: path.clone(), source })?.len();
    let meta = Metadata::read(path).map_err(|source| EstimateError::Gguf { path: path.clone(), source })?;
    let shape = KvShape::from_metadata(&meta).map_err(|key| EstimateError::Missing { path: path.clone(), key })?;
    let kv_cells = kv_cells(config);
    Ok(Estimate { weights, kv: shape.kv_bytes(kv_cells, config.kernels), kv_cells })
}

/// One backend's line in the check.
#[derive(Debug, Clone)]
pub struct BackendEstimate {
    pub backend: String,
    pub model: PathBuf,
    pub estimate: Estimate,
}

impl std::fmt::Display for BackendEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.estimate;
        write!(
            f,
            "backend {} ({}): {:.0} MiB weights + {:.0} MiB KV ({} cells) = {:.0} MiB",
            self.backend,
            self.model.display(),
            e.weights as f64 / MIB,
            e.kv as f64 / MIB,
            e.kv_cells,
            e.total() as f64 / MIB
        )
    }
}

/// The refusal: what each backend needs, the total, what is available, and what to lower.
#[derive(Debug)]
pub struct NotEnoughMemory {
    pub need: u64,
    pub available: u64,
    pub backends: Vec<BackendEstimate>,
}

impl std::fmt::Display for NotEnoughMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "not starting: the backends need an estimated {:.0} MiB, but only {:.0} MiB of memory is available:",
            self.need as f64 / MIB,
            self.available as f64 / MIB
        )?;
        for b in &self.backends {
            writeln!(f, "  {b}")?;
        }
        write!(
            f,
            "lower kv_tokens or prefix_cache_tokens ([engine], or [backends.NAME.engine] for one backend; \
             prefix_cache_entries = 0 turns the prefix cache off), or configure fewer backends"
        )
    }
}

impl std::error::Error for NotEnoughMemory {}

/// Refuses when the estimates together exceed `available` bytes; `None` (unknown) passes.
pub fn check(estimates: &[BackendEstimate], available: Option<u64>) -> Result<(), NotEnoughMemory> {
    let Some(available) = available else { return Ok(()) };
    let need = estimates.iter().fold(0u64, |a, e| a.saturating_add(e.estimate.total()));
    if need <= available {
        return Ok(());
    }
    Err(NotEnoughMemory { need, available, backends: estimates.to_vec() })
}

/// MemAvailable from /proc/meminfo, in bytes; `None` where it cannot be read (not Linux).
pub fn available_memory() -> Option<u64> {
    parse_meminfo(&std::fs::read_to_string(Path::new("/proc/meminfo")).ok()?)
}

pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_engine::gguf::testing::{header, TestValue as V};

    fn synthetic(name: &str, entries: &[(&str, V<'_>)]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("gemd-memory-test-{}-{name}.gguf", std::process::id()));
        std::fs::write(&path, header(entries)).unwrap();
        path
    }

    #[test]
    fn the_kv_size_follows_the_header_and_the_cache_type() {
        let path = synthetic(
            "shape",
            &[
                ("general.architecture", V::Str("llama")),
                ("llama.block_count", V::U32(2)),
                ("llama.attention.head_count", V::U32(8)),
                ("llama.attention.head_count_kv", V::U32(2)),
                ("llama.embedding_length", V::U32(512)),
            ],
        );
        let mut config = LlamaConfig::new(&path);
        config.kv_tokens = 1000;
        config.prefix_cache_tokens = 24;
        let e = estimate(&config).unwrap();
        // 2 layers × 1024 cells × 2 heads × (64 + 64), Q8_0.
        let elements = 2 * 1024 * 2 * 128u64;
        assert_eq!((e.kv_cells, e.kv), (1024, elements / 32 * 34));
        assert_eq!(e.weights, std::fs::metadata(&path).unwrap().len());
        config.kernels = Kernels::Default;
        config.prefix_cache_entries = 0; // the cache's tokens then take no cells
        assert_eq!(estimate(&config).unwrap().kv, 2 * 1000 * 2 * 128 * 2);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn explicit_head_sizes_and_per_layer_head_counts_are_used() {
        let path = synthetic(
            "explicit",
            &[
                ("general.architecture", V::Str("gemma3")),
                ("gemma3.block_count", V::U32(3)),
                ("gemma3.attention.head_count", V::U32(4)),
                ("gemma3.attention.head_count_kv", V::I32Array(&[1, 2, 1])),
                ("gemma3.embedding_length", V::U32(640)),
                ("gemma3.attention.key_length", V::U32(256)),
                ("gemma3.attention.value_length", V::U32(256)),
            ],
        );
        let shape = KvShape::from_metadata(&Metadata::read(&path).unwrap()).unwrap();
        assert_eq!(shape, KvShape { layers: 3, kv_heads: 2, key_length: 256, value_length: 256 });
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_header_without_the_attention_keys_is_named() {
        let path = synthetic("missing", &[("general.architecture", V::Str("mamba")), ("mamba.block_count", V::U32(2))]);
        let e = estimate(&LlamaConfig::new(&path)).unwrap_err();
        assert!(matches!(&e, EstimateError::Missing { key, .. } if key == "mamba.attention.head_count"), "{e}");
        let not_gguf = synthetic("not-gguf", &[]);
        std::fs::write(&not_gguf, b"hello").unwrap();
        assert!(matches!(estimate(&LlamaConfig::new(&not_gguf)), Err(EstimateError::Gguf { .. })));
        let _ = (std::fs::remove_file(path), std::fs::remove_file(not_gguf));
    }

    #[test]
    fn the_check_refuses_past_the_available_memory_and_says_what_to_lower() {
        let e = |backend: &str, weights, kv| BackendEstimate {
            backend: backend.into(),
            model: format!("/m/{backend}.gguf").into(),
            estimate: Estimate { weights, kv, kv_cells: 49152 },
        };
        let both = [e("default", 400 << 20, 300 << 20), e("big", 2048 << 20, 1024 << 20)];
        assert!(check(&both, Some(4096 << 20)).is_ok());
        assert!(check(&both, None).is_ok(), "an unknown amount is not checked");
        let msg = check(&both, Some(1024 << 20)).unwrap_err().to_string();
        for part in [
            "3772 MiB",
            "1024 MiB",
            "backend default (/m/default.gguf): 400 MiB weights + 300 MiB KV",
            "backend big",
            "kv_tokens",
            "prefix_cache_tokens",
            "fewer backends",
        ] {
            assert!(msg.contains(part), "{part:?} missing from:\n{msg}");
        }
    }

    #[test]
    fn mem_available_is_read_in_bytes() {
        let text = "MemTotal:       24684732 kB\nMemFree:        20816156 kB\nMemAvailable:   22882940 kB\n";
        assert_eq!(parse_meminfo(text), Some(22882940 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
    }

    /// The real default model, when it is on this machine (skipped with a note otherwise).
    #[test]
    fn the_estimate_of_the_real_qwen_file() {
        let file = crate::known_models::default_model().file;
        let home = std::env::var_os("GEMD_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gemd")));
        let candidates = [Some(PathBuf::from("/tmp/models").join(file)), home.map(|h| h.join("models").join(file))];
        let Some(path) = candidates.into_iter().flatten().find(|p| p.is_file()) else {
            eprintln!("note: {file} is not in /tmp/models or $GEMD_HOME/models; skipping the real-file estimate");
            return;
        };
        let config = LlamaConfig::new(&path);
        let e = estimate(&config).unwrap();
        // Qwen2.5 0.5B: 24 layers, 2 KV heads of 64; 32,768 + 16,384 cells of Q8_0.
        let shape = KvShape::from_metadata(&Metadata::read(&path).unwrap()).unwrap();
        assert_eq!(shape, KvShape { layers: 24, kv_heads: 2, key_length: 64, value_length: 64 });
        assert_eq!(e.weights, 491_400_064);
        assert_eq!(e.kv, 24 * 49_152 * 2 * 128 / 32 * 34);
        eprintln!("{}", BackendEstimate { backend: "default".into(), model: path, estimate: e });
    }
}
