//! KV cells waiting to be freed until the engine is idle.
//!
//! llama.cpp puts a new token in the first free KV cell it finds, and once cells in the middle of
//! the pool have been freed it starts searching from the beginning. A sequence still decoding
//! then gets its next token in a cell *before* its earlier ones. Flash attention sums a query's
//! cells in cell order, so the same sequence would round differently depending on who finished
//! beside it. Cells of finished or cancelled sequences and of evicted prefix-cache entries are
//! therefore parked here. They are freed when no sequence is decoding, or earlier when the space
//! is needed (which gives up that guarantee for the sequences running at that moment).

use llama_cpp_2::context::LlamaContext;

#[derive(Debug, Default)]
pub struct Parked {
    slots: Vec<i32>,
    cells: u32,
}

impl Parked {
    /// Parks `slot`'s cells (at most `cells` of them).
    pub fn park(&mut self, slot: i32, cells: u32) {
        self.slots.push(slot);
        self.cells += cells;
    }

    /// Cells held here, an upper bound (parked cells may be shared with live sequences).
    pub fn cells(&self) -> u32 {
        self.cells
    }

    /// Frees every parked cell; returns the sequence ids that became free.
    pub fn release(&mut self, ctx: &mut LlamaContext<'_>) -> Vec<i32> {
        self.cells = 0;
        for &slot in &self.slots {
            clear(ctx, slot);
        }
        std::mem::take(&mut self.slots)
    }
}

pub fn clear(ctx: &mut LlamaContext<'_>, slot: i32) {
    if let Err(e) = ctx.clear_kv_cache_seq(Some(slot as u32), None, None) {
        tracing::warn!(slot, error = %e, "could not clear a sequence's KV cells");
    }
}
