//! The engine thread: owns the llama.cpp context and runs continuous batching. Each step puts
//! one token of every decoding sequence and a bounded chunk of prompt prefill into a single
//! `llama_batch`, decodes once, and samples every sequence that produced logits. New requests
//! join between steps (starting from a copy of a cached prompt prefix); sequences whose client
//! went away are dropped before the next step and their KV cells freed. Finished sequences
//! leave their KV in the prefix cache.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llguidance::Matcher;
use tokio::sync::mpsc::UnboundedSender;

use super::parked::{clear, Parked};
use super::metrics::{add, add_elapsed, sub, Counters};
use super::prefix_cache::PrefixCache;
use super::reuse;
use super::sampler::{self, Picker};
use crate::api::{EngineError, Event, Finish, SamplingParams, TokenId};
use crate::text::{Feed, TextAssembler};

/// One request handed to the engine thread.
pub struct Job {
    pub tokens: Arc<[TokenId]>,
    pub params: SamplingParams,
    /// Output tokens granted (already capped by the context left).
    pub max_output: u32,
    /// The compiled constraint, if any; it moves into the sequence's sampler chain.
    pub grammar: Option<Matcher>,
    pub events: UnboundedSender<Event>,
}

impl Job {
    fn kv_need(&self) -> u32 {
        self.tokens.len() as u32 + self.max_output
    }
}

struct Sequence {
    slot: i32,
    job: Job,
    picker: Picker,
    text: TextAssembler,
    /// Prompt tokens already in the KV cache.
    fed: usize,
    /// Generated tokens that have been decoded into the KV cache (for the prefix cache).
    decoded: Vec<i32>,
    /// The token sampled last, to be decoded in the next step.
    pending: Option<LlamaToken>,
    /// Next KV position.
    pos: i32,
    generated: u32,
    /// Index in the current batch whose logits belong to this sequence.
    logits_at: Option<i32>,
    /// How it ended: finished, or failed (its grammar broke; see `sampler::Guided`).
    done: Option<Result<Finish, EngineError>>,
}

pub struct Limits {
    pub max_sequences: u32,
    pub kv_tokens: u32,
    pub batch_size: u32,
    /// Prompt tokens prefilled per step while other sequences are decoding, so a long prompt
    /// delays running streams by one short step, not by its whole prefill.
    pub prefill_chunk: u32,
    pub cache_slots: u32,
    pub cache_tokens: u32,
    /// The model's sliding attention window (0: none); a cached prefix is reusable only while
    /// the window's cells before the cut are still in the cache.
    pub swa_window: u32,
    /// Tokens that end a turn besides llama.cpp's end-of-generation set (the chat format's).
    pub stop_tokens: Vec<i32>,
}

pub fn run(model: &LlamaModel, mut ctx: LlamaContext<'_>, jobs: Receiver<Job>, limits: Limits, counters: &Counters) {
    let vocab = model.vocab();
    let n_vocab = model.n_vocab();
    let mut batch = LlamaBatch::new(limits.batch_size as usize, 1);
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut active: Vec<Sequence> = Vec::new();
    let mut free_slots: Vec<i32> = (0..(limits.max_sequences + limits.cache_slots) as i32).rev().collect();
    let mut cache = PrefixCache::new(limits.cache_slots as usize, limits.cache_tokens as usize);
    let mut kv_reserved: u32 = 0;
    let mut parked = Parked::default();
    let mut seed_counter: u32 = 0x9E37_79B9;

    loop {
        // 1. Take new jobs; block only when there is nothing to do.
        if active.is_empty() {
            // Idle: parked cells can go without reordering anyone's.
            free_slots.extend(parked.release(&mut ctx));
        }
        if active.is_empty() && waiting.is_empty() {
            match jobs.recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => return, // the engine was dropped
            }
        }
        loop {
            match jobs.try_recv() {
                Ok(job) => waiting.push_back(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) if active.is_empty() && waiting.is_empty() => return,
                Err(TryRecvError::Disconnected) => break,
            }
        }

        // 2. Forget waiting jobs whose client left; admit what fits, oldest first.
        waiting.retain(|job| {
            let alive = !job.events.is_closed();
            if !alive {
                sub(&counters.queued, 1);
                add(&counters.cancelled, 1);
            }
            alive
        });
        while let Some(job) = waiting.front() {
            if active.len() >= limits.max_sequences as usize {
                break;
            }
            if kv_reserved + parked.cells() + job.kv_need() > limits.kv_tokens || free_slots.is_empty() {
                // The space is needed now: free the parked cells early.
                free_slots.extend(parked.release(&mut ctx));
            }
            if kv_reserved + job.kv_need() > limits.kv_tokens {
                break;
            }
            if free_slots.is_empty() {
                // Every free id is held by a cached prefix: give the oldest one back.
                match cache.evict_lru() {
                    Some(slot) => {
                        clear(&mut ctx, slot);
                        free_slots.push(slot);
                    }
                    None => break,
                }
            }
            let mut job = waiting.pop_front().expect("front exists");
            let slot = free_slots.pop().expect("checked non-empty");
            kv_reserved += job.kv_need();
            seed_counter = seed_counter.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            sub(&counters.queued, 1);
            add(&counters.active, 1);
            add(&counters.prompt_tokens, job.tokens.len() as u64);
            let window = limits.swa_window as i32;
            let hit = cache.lookup(&job.tokens, |src, len| {
                // Sliding-window layers need the cells of the last `window` positions before the cut.
                let min = ctx.kv_cache_seq_pos_min(src);
                min <= 0 || (window > 0 && min <= len as i32 - window + 1)
            });
            let mut fed = 0;
            if let Some(hit) = hit {
                let started = Instant::now();
                let copied = reuse::copy_prefix(&mut ctx, hit.slot, slot, hit.len as u32);
                add_elapsed(&counters.prefix_copy_micros, started);
                if copied {
                    fed = hit.len;
                    add(&counters.prefix_hits, 1);
                    add(&counters.prefix_tokens_reused, hit.len as u64);
                }
            }
            active.push(Sequence {
                slot,
                picker: sampler::build(&job.params, n_vocab, seed_counter, job.grammar.take()),
                text: TextAssembler::new(job.params.stop_sequences.clone()),
                job,
                fed,
                decoded: Vec::new(),
                pending: None,
                pos: fed as i32,
                generated: 0,
                logits_at: None,
                done: None,
            });
        }

        // 3. Drop sequences whose client disconnected, before spending a step on them.
        let before = active.len();
        active.retain(|seq| {
            let alive = !seq.job.events.is_closed();
            if !alive {
                tracing::info!(slot = seq.slot, generated = seq.generated, "client disconnected; sequence cancelled");
                parked.park(seq.slot, seq.pos as u32);
                kv_reserved -= seq.job.kv_need();
                add(&counters.cancelled, 1);
            }
            alive
        });
        sub(&counters.active, (before - active.len()) as u64);
        if active.is_empty() {
            continue;
        }

        // 4. Build one batch: every decoding sequence's next token, then prompt chunks.
        batch.clear();
        let mut room = limits.batch_size as usize;
        let mut decoding = 0;
        for seq in active.iter_mut().filter(|s| s.pending.is_some()) {
            let token = seq.pending.take().expect("filtered");
            seq.logits_at = Some(batch.n_tokens());
            // Cannot fail: the batch holds batch_size tokens and at most max_sequences (< batch_size) are added here.
            let _ = batch.add(token, seq.pos, &[seq.slot], true);
            seq.decoded.push(token.0);
            seq.pos += 1;
            room -= 1;
            decoding += 1;
        }
        if decoding > 0 {
            room = room.min(limits.prefill_chunk as usize);
        }
        for seq in active.iter_mut().filter(|s| s.fed < s.job.tokens.len()) {
            if room == 0 {
                break;
            }
            let end = (seq.fed + room).min(seq.job.tokens.len());
            for i in seq.fed..end {
                let last = i + 1 == seq.job.tokens.len();
                if last {
                    seq.logits_at = Some(batch.n_tokens());
                }
                let _ = batch.add(LlamaToken(seq.job.tokens[i]), seq.pos, &[seq.slot], last);
                seq.pos += 1;
            }
            room -= end - seq.fed;
            seq.fed = end;
        }
        if batch.n_tokens() == 0 {
            continue;
        }

        // 5. Decode once for everyone.
        let started = Instant::now();
        let decoded = ctx.decode(&mut batch);
        add_elapsed(&counters.decode_micros, started);
        add(&counters.batch_tokens, batch.n_tokens() as u64);
        if let Err(e) = decoded {
            tracing::error!(error = %e, "llama_decode failed; failing the sequences of this batch");
            for seq in active.drain(..) {
                let _ = seq.job.events.send(Event::Failed(EngineError::Internal(format!("decode failed: {e}"))));
                clear(&mut ctx, seq.slot);
                free_slots.push(seq.slot);
                kv_reserved -= seq.job.kv_need();
                sub(&counters.active, 1);
            }
            continue;
        }
        add(&counters.decode_steps, 1);

        // 6. Sample every sequence that has fresh logits.
        let started = Instant::now();
        for seq in active.iter_mut() {
            let Some(idx) = seq.logits_at.take() else { continue };
            let token = match seq.picker.pick(&ctx, idx) {
                Ok(token) => token,
                Err(e) => {
                    // Never decode on unconstrained: the answer would silently break its schema.
                    tracing::warn!(slot = seq.slot, generated = seq.generated, error = %e, "constrained decoding failed; sequence ended");
                    // The grammar's own limits (too complex a schema): the request's fault.
                    seq.done = Some(Err(EngineError::InvalidConstraint(format!("The schema or grammar could not be enforced to the end of the answer: {e}"))));
                    continue;
                }
            };
            add(&counters.generated_tokens, 1);
            if vocab.is_eog(token) || limits.stop_tokens.contains(&token.0) {
                let rest = seq.text.finish();
                send_text(seq, rest);
                seq.done = Some(Ok(Finish::Stop));
                continue;
            }
            seq.generated += 1;
            let piece = vocab.token_to_piece(token, false, None);
            match seq.text.feed(&piece) {
                Feed::Emit(text) => send_text(seq, text),
                Feed::Stopped(text) => {
                    send_text(seq, text);
                    seq.done = Some(Ok(Finish::Stop));
                    continue;
                }
            }
            if seq.generated >= seq.job.max_output {
                let rest = seq.text.finish();
                send_text(seq, rest);
                seq.done = Some(Ok(Finish::MaxTokens));
            } else {
                seq.pending = Some(token);
            }
        }

        add_elapsed(&counters.sample_micros, started);

        // 7. Retire finished sequences and free their KV cells.
        active.retain(|seq| {
            let Some(outcome) = &seq.done else { return true };
            kv_reserved -= seq.job.kv_need();
            sub(&counters.active, 1);
            let finish = match outcome {
                Ok(finish) => *finish,
                Err(e) => {
                    let _ = seq.job.events.send(Event::Failed(e.clone()));
                    clear(&mut ctx, seq.slot);
                    free_slots.push(seq.slot);
                    return false;
                }
            };
            let _ = seq.job.events.send(Event::Done {
                finish,
                prompt_tokens: seq.job.tokens.len() as u32,
                output_tokens: seq.generated,
            });
            add(&counters.finished, 1);
            let mut in_kv = seq.job.tokens.to_vec();
            in_kv.extend_from_slice(&seq.decoded);
            for slot in cache.insert(seq.slot, in_kv) {
                let cells = ctx.kv_cache_seq_pos_max(slot) + 1;
                parked.park(slot, cells.max(0) as u32);
            }
            false
        });
    }
}

fn send_text(seq: &Sequence, text: String) {
    if !text.is_empty() {
        // A closed receiver is noticed (and the sequence dropped) at the top of the next step.
        let _ = seq.job.events.send(Event::Text { text, output_tokens: seq.generated });
    }
}
