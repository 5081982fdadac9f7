//! Batch invariance: how gemd keeps a sequence's logits independent of which other sequences
//! share its `llama_decode` call, so that a temperature-0 answer is the same alone and in a busy
//! batch.
//!
//! llama.cpp's CPU backend (x86) picks kernels by the shape of the whole batch, and the kernels
//! round differently (read from ggml-cpu in llama-cpp-sys-2 0.1.161):
//! - K-quant weights (Q4_K, Q6_K) take a tiled matrix multiply from 8 rows in the batch and a
//!   vector dot product per row below that. [`Kernels::configure_process`] turns the tiled one
//!   off (`GGML_CPU_TILED_MM=0`), so every row takes the dot product. Forcing the tiled one for
//!   every shape instead halved single-stream speed.
//! - Repacked Q4_K weights take a 4-row GEMM for most rows and a GEMV for the rest. gemd builds
//!   llama.cpp without repacking (`GGML_CPU_REPACK=OFF` in .cargo/config.toml).
//! - The output layer (Q8_0) takes llamafile's tiles for two or more rows and a vector dot
//!   product for one; both sum in the same order.
//! - Flash attention over an F16 cache has two more kernels: with one query row and 512+ KV
//!   cells it splits the cells between threads and merges partial sums, and from 64 query rows
//!   it runs a tiled kernel. Over a Q8_0 cache it always runs one query row at a time over the
//!   cells in order, so [`Kernels::Invariant`] stores K and V as Q8_0. (Padding single-row
//!   steps and capping steps at 63 rows kept the F16 cache invariant too, at 45% of
//!   single-stream speed.)
//! - That order is cell order, so a sequence's cells must stay in position order: parked.rs
//!   keeps freed cells out of llama.cpp's reach while others decode.

use llama_cpp_2::context::params::KvCacheType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Same logits whatever the batch (the default).
    #[default]
    Invariant,
    /// llama.cpp's defaults (F16 cache, every kernel): prefill is faster, but a greedy answer
    /// may depend on the batch.
    Default,
}

impl std::str::FromStr for Kernels {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "invariant" => Ok(Kernels::Invariant),
            "default" => Ok(Kernels::Default),
            other => Err(format!("kernels must be \"invariant\" or \"default\", not {other:?}")),
        }
    }
}

impl Kernels {
    pub fn from_batch_invariant(on: bool) -> Self {
        if on {
            Kernels::Invariant
        } else {
            Kernels::Default
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernels::Invariant => "invariant",
            Kernels::Default => "default",
        }
    }

    /// Sets llama.cpp's process-wide switches for this mode. ggml reads them once, at the
    /// first matrix multiply in the process, so the first engine to decode decides for all;
    /// call this before creating a context. A value the user exported is left alone.
    pub fn configure_process(self) {
        const TILED: &str = "GGML_CPU_TILED_MM";
        if self == Kernels::Invariant && std::env::var_os(TILED).is_none() {
            // Edition 2021: set_var is safe to call, but C code reading the environment at the
            // same time would race. No llama.cpp code runs before the first context exists.
            std::env::set_var(TILED, "0");
        }
    }

    /// The KV cache's element type (K and V alike).
    pub fn kv_type(self) -> KvCacheType {
        match self {
            Kernels::Invariant => KvCacheType::Q8_0,
            Kernels::Default => KvCacheType::F16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_parse_from_their_names() {
        for k in [Kernels::Invariant, Kernels::Default] {
            assert_eq!(k.name().parse::<Kernels>().unwrap(), k);
        }
        assert!("fast".parse::<Kernels>().unwrap_err().contains("invariant"));
    }

    #[test]
    fn only_the_invariant_mode_quantizes_the_cache() {
        // A Q8_0 cache is what keeps flash attention on its one-row-at-a-time kernel.
        assert_eq!(Kernels::Invariant.kv_type(), KvCacheType::Q8_0);
        assert_eq!(Kernels::Default.kv_type(), KvCacheType::F16);
        assert_eq!(Kernels::default(), Kernels::Invariant);
    }
}
