//! Lock-free counters the engine thread updates and anyone may read.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use crate::api::EngineMetrics;

#[derive(Debug, Default)]
pub struct Counters {
    pub active: AtomicU64,
    pub queued: AtomicU64,
    pub decode_steps: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub generated_tokens: AtomicU64,
    pub finished: AtomicU64,
    pub cancelled: AtomicU64,
    pub rejected: AtomicU64,
    pub prefix_hits: AtomicU64,
    pub prefix_tokens_reused: AtomicU64,
    /// Tokens decoded, padding included.
    pub batch_tokens: AtomicU64,
    /// Time inside `llama_decode`, and time sampling and detokenising between decodes: the
    /// split tells model time from scheduler overhead.
    pub decode_micros: AtomicU64,
    pub sample_micros: AtomicU64,
    /// Time copying cached prefixes into the sequences that reuse them (reuse.rs).
    pub prefix_copy_micros: AtomicU64,
    /// Prompt text pieces tokenised, and tokenisations stopped early (chunked.rs).
    pub tokenizer_chunks: AtomicU64,
    pub tokenizations_stopped: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> EngineMetrics {
        EngineMetrics {
            active_sequences: self.active.load(Relaxed),
            queued_requests: self.queued.load(Relaxed),
            decode_steps_total: self.decode_steps.load(Relaxed),
            prompt_tokens_total: self.prompt_tokens.load(Relaxed),
            generated_tokens_total: self.generated_tokens.load(Relaxed),
            sequences_finished_total: self.finished.load(Relaxed),
            sequences_cancelled_total: self.cancelled.load(Relaxed),
            requests_rejected_total: self.rejected.load(Relaxed),
            prefix_cache_hits_total: self.prefix_hits.load(Relaxed),
            prefix_tokens_reused_total: self.prefix_tokens_reused.load(Relaxed),
            batch_tokens_total: self.batch_tokens.load(Relaxed),
            decode_micros_total: self.decode_micros.load(Relaxed),
            sample_micros_total: self.sample_micros.load(Relaxed),
            prefix_copy_micros_total: self.prefix_copy_micros.load(Relaxed),
            tokenizer_chunks_total: self.tokenizer_chunks.load(Relaxed),
            tokenizations_stopped_total: self.tokenizations_stopped.load(Relaxed),
        }
    }
}

pub fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}

pub fn sub(c: &AtomicU64, n: u64) {
    c.fetch_sub(n, Relaxed);
}

pub fn add_elapsed(c: &AtomicU64, since: Instant) {
    c.fetch_add(since.elapsed().as_micros() as u64, Relaxed);
}
