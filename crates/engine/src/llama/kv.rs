//! The llama.cpp KV-cache calls behind the scheduler's plain accounting (ledger.rs): freeing a
//! sequence's cells, and counting the cells a sequence holds.

use llama_cpp_2::context::LlamaContext;

/// Frees every cell of sequence `slot`. A failure is logged, not returned: the accounting
/// counts the cells as gone either way, and no caller could do better with them.
pub fn clear(ctx: &mut LlamaContext<'_>, slot: i32) {
    if let Err(e) = ctx.clear_kv_cache_seq(Some(slot as u32), None, None) {
        tracing::warn!(slot, error = %e, "could not clear a sequence's KV cells");
    }
}

/// The cells sequence `slot` spans: one past its highest position (0 when it holds none).
pub fn cells(ctx: &LlamaContext<'_>, slot: i32) -> u32 {
    (ctx.kv_cache_seq_pos_max(slot) + 1).max(0) as u32
}
