//! The engine thread: owns the llama.cpp context and runs continuous batching. Each step puts
//! one token of every decoding sequence and a bounded chunk of prompt prefill into a single
//! `llama_batch`, decodes once, and samples every sequence that produced logits. New requests
//! join between steps (starting from a copy of a cached prompt prefix); sequences whose client
//! went away are dropped before the next step and their KV cells freed. Finished sequences
//! leave their KV in the prefix cache.
//!
//! [`Scheduler`] holds the thread's state, and [`run`] is a short loop over its steps, each
//! a method: take jobs (here), reap the clients that left and admit (admit.rs),
//! build the batch and decode (batch.rs), sample (sample.rs), retire (retire.rs). Which
//! sequence id and how many KV cells each sequence holds is the ledger's (ledger.rs): plain
//! data the steps ask and tell, unit-tested without a model. The steps that drive llama.cpp
//! are tested through it (the HTTP batching tests, tests/prefix_reuse.rs). The rejected
//! alternative is the single function this replaced, its state in eight locals: it read top to
//! bottom, but its accounting could only be tested by running the model. The split adds no
//! work per token: the same llama.cpp calls in the same order, and a few calls per step.

mod admit;
mod batch;
mod retire;
mod sample;
mod sequence;

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, TryRecvError};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;

pub use sequence::Job;
use sequence::Sequence;

use super::kv;
use super::ledger::{Capacity, Ledger};
use super::metrics::Counters;

pub struct Limits {
    /// What the ledger hands out: sequences, KV cells, and the prefix cache's ids and cells.
    pub capacity: Capacity,
    pub batch_size: u32,
    /// Prompt tokens prefilled per step while other sequences are decoding, so a long prompt
    /// delays running streams by one short step, not by its whole prefill.
    pub prefill_chunk: u32,
    /// The model's sliding attention window (0: none); a cached prefix is reusable only while
    /// the window's cells before the cut are still in the cache.
    pub swa_window: u32,
    /// Tokens that end a turn besides llama.cpp's end-of-generation set (the chat format's).
    pub stop_tokens: Vec<i32>,
}

/// Serves `jobs` until the engine is dropped and the work taken is done.
pub fn run(model: &LlamaModel, ctx: LlamaContext<'_>, jobs: Receiver<Job>, limits: Limits, counters: &Counters) {
    let mut scheduler = Scheduler::new(model, ctx, limits, counters);
    while scheduler.take_jobs(&jobs).is_continue() {
        scheduler.reap_waiting();
        scheduler.admit();
        scheduler.reap_running();
        if !scheduler.build_batch() {
            continue;
        }
        if let Err(e) = scheduler.decode() {
            scheduler.fail_batch(&e);
            continue;
        }
        scheduler.sample();
        scheduler.retire();
    }
}

/// The engine thread's state between steps.
struct Scheduler<'a> {
    model: &'a LlamaModel,
    ctx: LlamaContext<'a>,
    counters: &'a Counters,
    limits: Limits,
    batch: LlamaBatch<'static>,
    /// Jobs taken from the channel and not yet admitted, oldest first.
    waiting: VecDeque<Job>,
    /// Admitted sequences, in the order they were admitted (and enter each batch).
    running: Vec<Sequence>,
    ledger: Ledger,
    /// The seed handed to the last sequence; a request without a seed of its own samples
    /// with the next one (a linear congruential sequence, so runs are reproducible).
    seed: u32,
}

impl<'a> Scheduler<'a> {
    fn new(model: &'a LlamaModel, ctx: LlamaContext<'a>, limits: Limits, counters: &'a Counters) -> Self {
        Scheduler {
            model,
            ctx,
            counters,
            batch: LlamaBatch::new(limits.batch_size as usize, 1),
            waiting: VecDeque::new(),
            running: Vec::new(),
            ledger: Ledger::new(limits.capacity),
            limits,
            seed: 0x9E37_79B9,
        }
    }

    /// Moves the jobs sent so far into `waiting`, blocking only when there is nothing else to
    /// do. Breaks once the engine is dropped and no work is left.
    fn take_jobs(&mut self, jobs: &Receiver<Job>) -> ControlFlow<()> {
        if self.running.is_empty() {
            // Idle: parked cells can go without reordering anyone's.
            let ctx = &mut self.ctx;
            self.ledger.release_parked(|slot| kv::clear(ctx, slot));
        }
        if self.running.is_empty() && self.waiting.is_empty() {
            match jobs.recv() {
                Ok(job) => self.waiting.push_back(job),
                Err(_) => return ControlFlow::Break(()), // the engine was dropped
            }
        }
        loop {
            match jobs.try_recv() {
                Ok(job) => self.waiting.push_back(job),
                Err(TryRecvError::Empty) => return ControlFlow::Continue(()),
                Err(TryRecvError::Disconnected) if self.running.is_empty() && self.waiting.is_empty() => {
                    return ControlFlow::Break(())
                }
                Err(TryRecvError::Disconnected) => return ControlFlow::Continue(()),
            }
        }
    }
}
