//! Sampling: every sequence with fresh logits picks its next token, which either ends it (an
//! end-of-turn token, a stop sequence, its output limit, or a grammar that cannot go on) or is
//! emitted as text and decoded in the next step.

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::vocab::LlamaVocab;

use super::sequence::Sequence;
use super::Scheduler;
use crate::api::{EngineError, Finish};
use crate::llama::metrics::{add, add_elapsed};
use crate::text::Feed;

impl Scheduler<'_> {
    /// Samples every sequence that has logits in this step's batch.
    pub(super) fn sample(&mut self) {
        let started = Instant::now();
        let vocab = self.model.vocab();
        for seq in self.running.iter_mut() {
            let Some(idx) = seq.logits_at.take() else {
                continue;
            };
            let token = match seq.picker.pick(&self.ctx, idx) {
                Ok(token) => token,
                Err(e) => {
                    // Never decode on unconstrained: the answer would silently break its schema.
                    tracing::warn!(
                        slot = seq.slot(),
                        generated = seq.generated,
                        error = %e,
                        "constrained decoding failed; sequence ended"
                    );
                    // The grammar's own limits (too complex a schema): the request's fault.
                    let message = format!("The schema or grammar could not be enforced to the end of the answer: {e}");
                    seq.done = Some(Err(EngineError::InvalidConstraint(message)));
                    continue;
                }
            };
            add(&self.counters.generated_tokens, 1);
            if let Some(finish) = accept(seq, token, &vocab, &self.limits.stop_tokens) {
                seq.done = Some(Ok(finish));
            }
        }
        add_elapsed(&self.counters.sample_micros, started);
    }
}

/// Takes `token` into `seq`: emits its text and queues it for decoding, or returns how the
/// sequence ended (its remaining text sent).
fn accept(seq: &mut Sequence, token: LlamaToken, vocab: &LlamaVocab<'_>, stop_tokens: &[i32]) -> Option<Finish> {
    if vocab.is_eog(token) || stop_tokens.contains(&token.0) {
        let rest = seq.text.finish();
        seq.send_text(rest);
        return Some(Finish::Stop);
    }
    seq.generated += 1;
    let piece = vocab.token_to_piece(token, false, None);
    match seq.text.feed(&piece) {
        Feed::Emit(text) => seq.send_text(text),
        Feed::Stopped(text) => {
            seq.send_text(text);
            return Some(Finish::Stop);
        }
    }
    if seq.generated >= seq.job.max_output {
        let rest = seq.text.finish();
        seq.send_text(rest);
        return Some(Finish::MaxTokens);
    }
    seq.pending = Some(token);
    None
}
