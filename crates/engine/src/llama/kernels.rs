//! Batch invariance: how gemd keeps a sequence's logits independent of which other sequences
//! share its `llama_decode` call, so that a temperature-0 answer is the same alone, in a busy
//! batch, and after a cached prompt prefix.
//!
//! llama.cpp's CPU backend (x86) picks kernels by the shape of the whole batch, and the kernels
//! round differently:
//! - K-quant weights (Q4_K, Q6_K) take a tiled matrix multiply from 8 rows in the batch and a
//!   vector dot product per row below that. [`Kernels::configure_process`] turns the tiled one
//!   off (`GGML_CPU_TILED_MM=0`), so every row takes the dot product.
//! - Repacked Q4_K weights take a 4-row GEMM for most rows and a GEMV for the rest. gemd builds
//!   llama.cpp without repacking (`GGML_CPU_REPACK=OFF` in .cargo/config.toml).
//! - The output layer (Q8_0) takes llamafile's tiles for two or more output rows and a vector
//!   dot product for one; both sum in the same order.
//! - Flash attention runs one query row at a time over the KV cells in order, except with a
//!   single query row and 512+ cells (the cells are split between threads and the partial sums
//!   merged) and with 64+ query rows (a tiled kernel that converts and sums differently).
//! - Attention sums a query's KV cells in cell order, so a sequence's cells must stay in
//!   position order: parked.rs keeps freed cells out of llama.cpp's reach while others decode.
//!
//! [`Kernels::Invariant`] therefore decodes at most [`MAX_STEP_TOKENS`] tokens per step and adds
//! a throwaway token (with logits) of a reserved sequence to a step that would produce a single
//! row of logits, so no step has a single row anywhere.

use llama_cpp_2::llama_batch::{BatchAddError, LlamaBatch};
use llama_cpp_2::token::LlamaToken;

/// The most tokens an invariant step decodes, padding included: below the 64 query rows from
/// which llama.cpp switches to its tiled flash attention (GGML_FA_TILE_Q).
pub const MAX_STEP_TOKENS: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Same logits whatever the batch (the default).
    #[default]
    Invariant,
    /// llama.cpp's defaults: fastest, but greedy output may depend on the batch.
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
            // same time would race. Nothing in llama.cpp runs before the first context exists.
            std::env::set_var(TILED, "0");
        }
    }

    /// Padding tokens a step may need on top of its real ones.
    pub fn headroom(self) -> usize {
        usize::from(self == Kernels::Invariant)
    }

    /// Real tokens one step may decode, given the configured batch size.
    pub fn step_tokens(self, batch_size: usize) -> usize {
        match self {
            Kernels::Invariant => batch_size.min(MAX_STEP_TOKENS),
            Kernels::Default => batch_size,
        }
    }

    /// Whether a step producing `outputs` rows of logits needs a throwaway token: with the
    /// invariant kernels, a step with a single output (a lone decode or the end of a lone
    /// prompt). The caller adds it with [`pad`] in a sequence id no request uses.
    pub fn needs_pad(self, outputs: usize) -> bool {
        self == Kernels::Invariant && outputs == 1
    }
}

/// Adds the throwaway token at `pos` of `pad_seq`, with logits: the output layer (Q8_0) takes
/// llamafile's tiles from two output rows and a vector dot product for one, and the two round
/// differently. Its KV cell is kept until the engine is idle (parked.rs), so it never leaves a
/// hole between a live sequence's cells.
pub fn pad(batch: &mut LlamaBatch, pad_seq: i32, pos: i32) -> Result<(), BatchAddError> {
    batch.add(LlamaToken(0), pos, &[pad_seq], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(n: usize) -> LlamaBatch {
        let mut batch = LlamaBatch::new(16, 1);
        for i in 0..n {
            batch.add(LlamaToken(7), i as i32, &[0], i + 1 == n).unwrap();
        }
        batch
    }

    #[test]
    fn only_a_step_with_a_single_output_is_padded() {
        assert!(Kernels::Invariant.needs_pad(1));
        assert!(!Kernels::Invariant.needs_pad(0), "a prompt chunk without logits has several rows");
        assert!(!Kernels::Invariant.needs_pad(2));
        assert!(!Kernels::Default.needs_pad(1));
        let mut batch = batch_of(1);
        pad(&mut batch, 3, 0).unwrap();
        assert_eq!(batch.n_tokens(), 2);
    }

    #[test]
    fn invariant_steps_stay_below_the_tiled_attention() {
        let k = Kernels::Invariant;
        assert!(k.step_tokens(512) + k.headroom() < 64);
        assert_eq!(k.step_tokens(16), 16);
        assert_eq!(Kernels::Default.step_tokens(512), 512);
        assert_eq!(Kernels::Default.headroom(), 0);
    }

    #[test]
    fn kernels_parse_from_their_names() {
        for k in [Kernels::Invariant, Kernels::Default] {
            assert_eq!(k.name().parse::<Kernels>().unwrap(), k);
        }
        assert!("fast".parse::<Kernels>().unwrap_err().contains("invariant"));
    }
}
