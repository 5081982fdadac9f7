//! The engine's slot and KV accounting: which llama.cpp sequence ids are free, running, holding
//! a cached prefix or parked, and how many KV cells the running sequences have reserved. Plain
//! data with no llama.cpp types: the scheduler does the llama.cpp side (freeing cells, copying
//! a prefix) for the ids the ledger hands it, so every admission rule is unit-tested without a
//! model (ledger/tests.rs, random admit/retire sequences included).
//!
//! A sequence reserves its whole need when it is admitted, prompt plus every output token it
//! was granted, and holds it to the end, so a running sequence never waits for cells and is
//! never preempted. The rejected alternative is paged allocation as vLLM and
//! text-generation-inference do it (blocks taken as a sequence grows): it admits more
//! sequences when answers stop early, but needs preemption when the pool runs dry, and a
//! preempted stream stalls while its KV is swapped out or recomputed. The cost is admission by
//! the worst case: a request granted 8,192 output tokens that stops after 20 holds 8,192 cells
//! until it ends.
//!
//! Every id is in exactly one place: free, held by a running sequence (its [`Reservation`]),
//! holding a cached prefix ([`PrefixCache`]), or parked ([`Parked`]).

use std::collections::VecDeque;

use super::parked::Parked;
use super::prefix_cache::{Hit, PrefixCache};

#[cfg(test)]
mod tests;

/// How much the ledger may hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Sequences decoded together.
    pub sequences: u32,
    /// KV cells the running sequences may reserve between them.
    pub kv_tokens: u32,
    /// Prefix-cache entries, each holding a sequence id of its own on top of `sequences`.
    pub cache_slots: u32,
    /// KV cells the prefix cache may hold, on top of `kv_tokens`.
    pub cache_tokens: u32,
}

/// A running sequence's claim: its sequence id and the KV cells reserved for it. Neither
/// `Clone` nor `Copy`, and only the ledger makes one: giving it back consumes it, so each claim
/// is returned exactly once, and whole.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation that is not given back leaks its sequence id and its cells"]
pub struct Reservation {
    slot: i32,
    cells: u32,
}

impl Reservation {
    /// The llama.cpp sequence id the sequence decodes under.
    pub fn slot(&self) -> i32 {
        self.slot
    }

    #[cfg(test)]
    pub fn cells(&self) -> u32 {
        self.cells
    }
}

/// Why a job cannot start yet. It waits; sequences finishing will make room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `sequences` are running.
    Sequences,
    /// The running sequences' reservations leave too few of `kv_tokens` cells.
    KvCells,
    /// No sequence id is free. Not expected: the cache holds at most one entry per id of its
    /// own, so an id is free (or parked) whenever a sequence may start (ledger/tests.rs).
    SlotIds,
}

#[derive(Debug)]
pub struct Ledger {
    capacity: Capacity,
    /// Ids nobody holds, handed out from the end.
    free: Vec<i32>,
    running: u32,
    reserved: u32,
    parked: Parked,
    cache: PrefixCache,
}

impl Ledger {
    pub fn new(capacity: Capacity) -> Self {
        let ids = (capacity.sequences + capacity.cache_slots) as i32;
        Ledger {
            capacity,
            // Reversed, so that ids are handed out from 0 up.
            free: (0..ids).rev().collect(),
            running: 0,
            reserved: 0,
            parked: Parked::default(),
            cache: PrefixCache::new(capacity.cache_slots as usize, capacity.cache_tokens as usize),
        }
    }

    /// Running sequences: reservations handed out and not given back.
    #[cfg(test)]
    pub fn running(&self) -> u32 {
        self.running
    }

    /// KV cells the running sequences have reserved.
    #[cfg(test)]
    pub fn reserved(&self) -> u32 {
        self.reserved
    }

    /// Reserves a sequence id and `cells` KV cells for a new sequence, or says why it must
    /// wait. Parked cells are freed first when they stand in the way, and a cached prefix gives
    /// its id back when no other is free: `clear(id)` must free the llama.cpp cells of each id
    /// so released, before anything else uses the context.
    pub fn admit(&mut self, cells: u32, mut clear: impl FnMut(i32)) -> Result<Reservation, Wait> {
        if self.running >= self.capacity.sequences {
            return Err(Wait::Sequences);
        }
        let kv = self.capacity.kv_tokens;
        if self.reserved + self.parked.cells() + cells > kv || self.free.is_empty() {
            // The space is needed now: free the parked cells early (parked.rs says what that
            // gives up).
            self.release_parked(&mut clear);
        }
        if self.reserved + cells > kv {
            return Err(Wait::KvCells);
        }
        if self.free.is_empty() {
            // Every free id is held by a cached prefix: the least recently used gives it back.
            let slot = self.cache.evict_lru().ok_or(Wait::SlotIds)?;
            clear(slot);
            self.free.push(slot);
        }
        let slot = self.free.pop().expect("an id is free");
        self.running += 1;
        self.reserved += cells;
        Ok(Reservation { slot, cells })
    }

    /// Admits the oldest waiting job if it fits now, taking it off the queue. Jobs start in
    /// arrival order: one that does not fit yet holds back every job behind it, so a stream of
    /// small jobs never starves a large one.
    pub fn admit_oldest<J>(
        &mut self,
        waiting: &mut VecDeque<J>,
        cells: impl Fn(&J) -> u32,
        clear: impl FnMut(i32),
    ) -> Option<(J, Reservation)> {
        let reservation = self.admit(cells(waiting.front()?), clear).ok()?;
        let job = waiting.pop_front().expect("the front was just read");
        Some((job, reservation))
    }

    /// The longest cached prefix of `prompt` worth copying (see [`PrefixCache::lookup`]).
    pub fn lookup(&mut self, prompt: &[i32], usable: impl Fn(i32, usize) -> bool) -> Option<Hit> {
        self.cache.lookup(prompt, usable)
    }

    /// Frees every parked cell (`clear` each parked id), making the ids free. The scheduler
    /// calls it when no sequence runs, since then no sequence's cells can be reordered.
    pub fn release_parked(&mut self, mut clear: impl FnMut(i32)) {
        let slots = self.parked.release();
        for &slot in &slots {
            clear(slot);
        }
        self.free.extend(slots);
    }

    /// Gives back a sequence that failed: its cells are freed now (`clear`) and its id is free.
    pub fn free_now(&mut self, reservation: Reservation, clear: impl FnOnce(i32)) {
        let slot = self.give_back(reservation);
        clear(slot);
        self.free.push(slot);
    }

    /// Gives back a cancelled sequence, parking the `cells` it has filled.
    pub fn park(&mut self, reservation: Reservation, cells: u32) {
        let slot = self.give_back(reservation);
        self.parked.park(slot, cells);
    }

    /// Gives back a finished sequence whose cells hold the KV of `tokens`, offering them to the
    /// prefix cache. Whatever the cache lets go (entries it evicts or makes redundant, or this
    /// sequence when it is not kept) is parked, with the cells `cells_of(id)` counts.
    pub fn offer_to_cache(&mut self, reservation: Reservation, tokens: Vec<i32>, mut cells_of: impl FnMut(i32) -> u32) {
        let slot = self.give_back(reservation);
        for dropped in self.cache.insert(slot, tokens) {
            self.parked.park(dropped, cells_of(dropped));
        }
    }

    fn give_back(&mut self, reservation: Reservation) -> i32 {
        self.running -= 1;
        self.reserved -= reservation.cells;
        reservation.slot
    }
}
