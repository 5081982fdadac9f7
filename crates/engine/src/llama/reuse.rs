//! Reusing a cached prefix: its KV is copied into fresh cells, not shared in place.
//!
//! Attention sums a query's KV cells in cell order (see kernels.rs), so a sequence reproduces a
//! cold prefill bit for bit only while its cells lie in position order. Sharing the cached
//! cells (`seq_cp`) leaves the prefix where it was, and llama.cpp then puts the new suffix in
//! the first free cells it finds: after sequences were freed those are often holes *before*
//! the prefix, and the answer could differ from a cold run's. A restored copy is placed by the
//! same search as a cold prefill (ascending from llama.cpp's search head), and the suffix
//! follows it. The copy costs two memcpys of the prefix's KV (about 15 MB for a 2,000-token
//! prefix of Gemma 3 270M with a Q8_0 cache), against a prefill of the same tokens.

use llama_cpp_2::context::session::LlamaStateSeqFlags;
use llama_cpp_2::context::LlamaContext;

use super::kv::clear;

/// Gives sequence `dst` (empty) positions `[0, len)` of cached sequence `src`, in cells of its
/// own. Returns false, with `dst` left empty, when llama.cpp refuses; the caller then prefills
/// from scratch.
pub fn copy_prefix(ctx: &mut LlamaContext<'_>, src: i32, dst: i32, len: u32) -> bool {
    // Tag the prefix with `dst` first, then snapshot `dst`: a snapshot of `src` would hold its
    // generated tail too, and would leave out the sliding-window cells that are masked for
    // src's longer sequence but still needed right before the cut.
    if ctx.copy_kv_cache_seq(src, dst, Some(0), Some(len)).is_err() {
        return false;
    }
    let snapshot = ctx.state_seq_get(dst, LlamaStateSeqFlags::empty());
    // Drops only dst's tags: the cells stay src's, and llama.cpp's search head does not move.
    clear(ctx, dst);
    let restored =
        snapshot.map_err(|e| e.to_string()).and_then(|s| ctx.state_seq_set(&s, dst).map_err(|e| e.to_string()));
    match restored {
        Ok(()) if ctx.kv_cache_seq_pos_max(dst) + 1 == len as i32 => true,
        Ok(()) => {
            tracing::warn!(
                src,
                dst,
                len,
                got = ctx.kv_cache_seq_pos_max(dst) + 1,
                "restored prefix has the wrong length; prefilling instead"
            );
            clear(ctx, dst);
            false
        }
        Err(error) => {
            tracing::warn!(src, dst, len, %error, "could not copy a cached prefix; prefilling instead");
            clear(ctx, dst);
            false
        }
    }
}
