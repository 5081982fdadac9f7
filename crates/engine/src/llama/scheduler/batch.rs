//! One step's `llama_batch`, and decoding it: the next token of every decoding sequence first,
//! then prompt prefill in admission order. While any sequence decodes, prefill is capped at
//! `prefill_chunk` tokens, so a long prompt delays running streams by one short step.

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;

use super::Scheduler;
use crate::api::{EngineError, Event};
use crate::llama::kv;
use crate::llama::metrics::{add, add_elapsed, sub};

impl Scheduler<'_> {
    /// Fills the batch for this step; false when there is nothing to decode.
    pub(super) fn build_batch(&mut self) -> bool {
        self.batch.clear();
        let mut room = self.limits.batch_size as usize;
        let mut decoding = 0;
        for seq in self.running.iter_mut().filter(|s| s.pending.is_some()) {
            let token = seq.pending.take().expect("filtered");
            seq.logits_at = Some(self.batch.n_tokens());
            // Cannot fail: the batch holds batch_size tokens and at most max_sequences
            // (< batch_size) are added here.
            let _ = self.batch.add(token, seq.pos, &[seq.slot()], true);
            seq.decoded.push(token.0);
            seq.pos += 1;
            room -= 1;
            decoding += 1;
        }
        if decoding > 0 {
            room = room.min(self.limits.prefill_chunk as usize);
        }
        for seq in self.running.iter_mut().filter(|s| s.fed < s.job.tokens.len()) {
            if room == 0 {
                break;
            }
            let end = (seq.fed + room).min(seq.job.tokens.len());
            for i in seq.fed..end {
                let last = i + 1 == seq.job.tokens.len();
                if last {
                    seq.logits_at = Some(self.batch.n_tokens());
                }
                let _ = self.batch.add(LlamaToken(seq.job.tokens[i]), seq.pos, &[seq.slot()], last);
                seq.pos += 1;
            }
            room -= end - seq.fed;
            seq.fed = end;
        }
        self.batch.n_tokens() > 0
    }

    /// Decodes the batch once for every sequence in it.
    pub(super) fn decode(&mut self) -> Result<(), DecodeError> {
        let started = Instant::now();
        let decoded = self.ctx.decode(&mut self.batch);
        add_elapsed(&self.counters.decode_micros, started);
        add(&self.counters.batch_tokens, self.batch.n_tokens() as u64);
        decoded?;
        add(&self.counters.decode_steps, 1);
        Ok(())
    }

    /// Fails every running sequence after a failed decode, freeing their cells at once:
    /// nothing in them is worth parking or caching.
    pub(super) fn fail_batch(&mut self, e: &DecodeError) {
        tracing::error!(error = %e, "llama_decode failed; failing the sequences of this batch");
        for seq in self.running.drain(..) {
            let failure = EngineError::Internal(format!("decode failed: {e}"));
            let _ = seq.job.events.send(Event::Failed(failure));
            let ctx = &mut self.ctx;
            self.ledger.free_now(seq.reservation, |slot| kv::clear(ctx, slot));
            sub(&self.counters.active, 1);
        }
    }
}
