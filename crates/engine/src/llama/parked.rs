//! KV cells waiting to be freed until the engine is idle.
//!
//! llama.cpp puts a new token in the first free KV cell it finds, and once cells in the middle of
//! the pool have been freed it starts searching from the beginning. A sequence still decoding
//! then gets its next token in a cell *before* its earlier ones. Flash attention sums a query's
//! cells in cell order, so the same sequence would round differently depending on who finished
//! beside it. Cells of finished or cancelled sequences and of evicted prefix-cache entries are
//! therefore parked here. They are freed when no sequence is decoding, or earlier when the space
//! is needed (which gives up that guarantee for the sequences running at that moment).
//!
//! Plain bookkeeping: the caller frees the cells in llama.cpp (`kv::clear`) for the ids that
//! [`Parked::release`] hands back, so the ledger that owns this is testable without a model.

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

    /// Forgets every parked cell; returns the sequence ids whose cells the caller must free,
    /// in the order they were parked.
    pub fn release(&mut self) -> Vec<i32> {
        self.cells = 0;
        std::mem::take(&mut self.slots)
    }

    #[cfg(test)]
    pub fn slots(&self) -> &[i32] {
        &self.slots
    }
}
