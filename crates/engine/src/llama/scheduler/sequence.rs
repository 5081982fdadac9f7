//! What the engine thread holds per request: the [`Job`] as it arrives, and the running
//! [`Sequence`] it becomes once admitted (its ledger claim, sampler, text and KV position).

use std::sync::Arc;

use llama_cpp_2::token::LlamaToken;
use llguidance::Matcher;
use tokio::sync::mpsc::UnboundedSender;

use crate::api::{EngineError, Event, Finish, SamplingParams, TokenId};
use crate::llama::ledger::Reservation;
use crate::llama::sampler::{self, Picker};
use crate::text::TextAssembler;

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
    /// The KV cells the job reserves on admission: its prompt and every output token granted.
    pub fn kv_need(&self) -> u32 {
        self.tokens.len() as u32 + self.max_output
    }

    /// Whether the client went away (it dropped its event stream).
    pub fn is_abandoned(&self) -> bool {
        self.events.is_closed()
    }
}

pub struct Sequence {
    /// Its sequence id and KV cells, given back to the ledger when it ends.
    pub reservation: Reservation,
    pub job: Job,
    pub picker: Picker,
    pub text: TextAssembler,
    /// Prompt tokens already in the KV cache.
    pub fed: usize,
    /// Generated tokens that have been decoded into the KV cache (for the prefix cache).
    pub decoded: Vec<i32>,
    /// The token sampled last, to be decoded in the next step.
    pub pending: Option<LlamaToken>,
    /// Next KV position.
    pub pos: i32,
    pub generated: u32,
    /// Index in the current batch whose logits belong to this sequence.
    pub logits_at: Option<i32>,
    /// How it ended: finished, or failed (its grammar broke; see `sampler::Guided`).
    pub done: Option<Result<Finish, EngineError>>,
}

impl Sequence {
    /// A sequence whose first `fed` prompt tokens are already in its cells (a copied prefix).
    pub fn start(mut job: Job, reservation: Reservation, fed: usize, n_vocab: i32, seed: u32) -> Self {
        Sequence {
            reservation,
            picker: sampler::build(&job.params, n_vocab, seed, job.grammar.take()),
            text: TextAssembler::new(job.params.stop_sequences.clone()),
            job,
            fed,
            decoded: Vec::new(),
            pending: None,
            pos: fed as i32,
            generated: 0,
            logits_at: None,
            done: None,
        }
    }

    pub fn slot(&self) -> i32 {
        self.reservation.slot()
    }

    /// The tokens whose KV its cells hold: the prompt, then what was generated and decoded.
    pub fn tokens_in_kv(&self) -> Vec<i32> {
        let mut tokens = self.job.tokens.to_vec();
        tokens.extend_from_slice(&self.decoded);
        tokens
    }

    pub fn send_text(&self, text: String) {
        if !text.is_empty() {
            // A closed receiver is noticed (and the sequence dropped) at the top of the next step.
            let _ = self.job.events.send(Event::Text { text, output_tokens: self.generated });
        }
    }
}
