//! The ends of sequences: cancelled ones (their client went away) are reaped before a step is
//! spent on them, and their filled cells parked; finished ones send their last event and offer
//! their KV to the prefix cache; failed ones have their cells freed at once.

use super::Scheduler;
use crate::api::Event;
use crate::llama::kv;
use crate::llama::metrics::{add, sub};

impl Scheduler<'_> {
    /// Drops running sequences whose client disconnected, before a step is spent on them.
    pub(super) fn reap_running(&mut self) {
        let before = self.running.len();
        let (ledger, counters) = (&mut self.ledger, self.counters);
        remove_where(
            &mut self.running,
            |seq| seq.job.is_abandoned(),
            |seq| {
                tracing::info!(slot = seq.slot(), generated = seq.generated, "client disconnected; sequence cancelled");
                ledger.park(seq.reservation, seq.pos as u32);
                add(&counters.cancelled, 1);
            },
        );
        sub(&self.counters.active, (before - self.running.len()) as u64);
    }

    /// Ends the sequences that finished or failed, and gives their claims back: a finished
    /// sequence's KV is offered to the prefix cache, a failed one's freed.
    pub(super) fn retire(&mut self) {
        let (ledger, ctx, counters) = (&mut self.ledger, &mut self.ctx, self.counters);
        remove_where(
            &mut self.running,
            |seq| seq.done.is_some(),
            |mut seq| {
                sub(&counters.active, 1);
                match seq.done.take().expect("selected as done") {
                    Err(e) => {
                        let _ = seq.job.events.send(Event::Failed(e));
                        ledger.free_now(seq.reservation, |slot| kv::clear(ctx, slot));
                    }
                    Ok(finish) => {
                        let _ = seq.job.events.send(Event::Done {
                            finish,
                            prompt_tokens: seq.job.tokens.len() as u32,
                            output_tokens: seq.generated,
                        });
                        add(&counters.finished, 1);
                        let tokens = seq.tokens_in_kv();
                        ledger.offer_to_cache(seq.reservation, tokens, |slot| kv::cells(ctx, slot));
                    }
                }
            },
        );
    }
}

/// Removes the items `select` picks, in order, handing each to `end`; the rest keep their
/// order. (`Vec::extract_if` from Rust 1.87; the workspace declares 1.80.)
fn remove_where<T>(items: &mut Vec<T>, mut select: impl FnMut(&T) -> bool, mut end: impl FnMut(T)) {
    let mut i = 0;
    while i < items.len() {
        if select(&items[i]) {
            end(items.remove(i));
        } else {
            i += 1;
        }
    }
}
