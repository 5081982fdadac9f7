//! Admission: waiting jobs whose client left are forgotten, then the oldest jobs start while
//! the ledger has room for them (its rule), each from the longest usable cached prefix of its
//! prompt (copied into cells of its own: reuse.rs).

use std::time::Instant;

use super::sequence::{Job, Sequence};
use super::Scheduler;
use crate::llama::kv;
use crate::llama::metrics::{add, add_elapsed, sub};
use crate::llama::reuse;

impl Scheduler<'_> {
    /// Forgets waiting jobs whose client left.
    pub(super) fn reap_waiting(&mut self) {
        let counters = self.counters;
        self.waiting.retain(|job| {
            // Asked once: the answer may change at any moment, and the counters must follow it.
            let abandoned = job.is_abandoned();
            if abandoned {
                sub(&counters.queued, 1);
                add(&counters.cancelled, 1);
            }
            !abandoned
        });
    }

    /// Admits what fits, oldest first (the ledger's rule), each starting from the longest
    /// cached prefix of its prompt.
    pub(super) fn admit(&mut self) {
        loop {
            let ctx = &mut self.ctx;
            let admitted = self.ledger.admit_oldest(&mut self.waiting, Job::kv_need, |slot| kv::clear(ctx, slot));
            let Some((job, reservation)) = admitted else {
                return;
            };
            self.seed = self.seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            sub(&self.counters.queued, 1);
            add(&self.counters.active, 1);
            add(&self.counters.prompt_tokens, job.tokens.len() as u64);
            let fed = self.reuse_prefix(&job.tokens, reservation.slot());
            let sequence = Sequence::start(job, reservation, fed, self.model.n_vocab(), self.seed);
            self.running.push(sequence);
        }
    }

    /// Copies the longest usable cached prefix of `prompt` into `slot`'s cells; returns how
    /// many prompt tokens it holds (0: prefill from scratch).
    fn reuse_prefix(&mut self, prompt: &[i32], slot: i32) -> usize {
        let window = self.limits.swa_window as i32;
        let ctx = &self.ctx;
        let hit = self.ledger.lookup(prompt, |src, len| {
            // Sliding-window layers need the cells of the last `window` positions before the cut.
            let min = ctx.kv_cache_seq_pos_min(src);
            min <= 0 || (window > 0 && min <= len as i32 - window + 1)
        });
        let Some(hit) = hit else { return 0 };
        let started = Instant::now();
        let copied = reuse::copy_prefix(&mut self.ctx, hit.slot, slot, hit.len as u32);
        add_elapsed(&self.counters.prefix_copy_micros, started);
        if !copied {
            return 0;
        }
        add(&self.counters.prefix_hits, 1);
        add(&self.counters.prefix_tokens_reused, hit.len as u64);
        hit.len
    }
}
