//! The `Engine` trait: what the HTTP layer may ask of a model backend, independent of how the
//! backend runs (in-process llama.cpp today; upstream servers later).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::chat::{ChatFormat, ChatPrompt};

/// A backend's token ids (llama.cpp's `llama_token`).
pub type TokenId = i32;

/// A prompt rendered into the model's turn format and tokenised: counting and quota checks
/// use the same tokens that generation will consume.
#[derive(Debug, Clone)]
pub struct PreparedPrompt {
    pub tokens: Arc<[TokenId]>,
}

impl PreparedPrompt {
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// How far one [`Engine::prepare_bounded`] may go: tokenising stops as soon as the prompt is
/// known to exceed `max_tokens` (it cannot be served, so counting the rest is wasted CPU), or
/// once `cancel` is set (the client left).
#[derive(Debug, Clone, Default)]
pub struct PrepareBounds {
    pub max_tokens: Option<usize>,
    pub cancel: CancelFlag,
}

/// A flag the async side sets and blocking work polls between bounded steps.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Sets the flag when dropped: held by the future that awaits the blocking work, so the
    /// work stops when that future is dropped (an axum handler is dropped when its client
    /// disconnects), as `spawn_blocking` itself never cancels.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// See [`CancelFlag::cancel_on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Sampling and stopping controls of one request. `None` means "the backend's default".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingParams {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i32>,
    pub seed: Option<u32>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub stop_sequences: Vec<String>,
    /// The most tokens to generate; the engine also caps it by the context left.
    pub max_output_tokens: u32,
    /// A grammar every generated token must keep the output inside; when the grammar is
    /// complete the sequence ends (`Finish::Stop`).
    pub constraint: Option<Constraint>,
    /// Whether someone is waiting on the answer now, or it is queued work (the Batch API).
    pub priority: Priority,
}

/// Who waits for a generation. Interactive work is admitted and prefilled before batch work,
/// so a person waits behind at most the batch work already in the step being decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Priority {
    #[default]
    Interactive,
    /// Queued work (the Batch API): runs in the capacity interactive requests leave.
    Batch,
}

/// The language a constrained generation must stay in.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// One JSON document valid against this JSON Schema (compact separators, no free
    /// whitespace, so a weak model cannot pad forever).
    JsonSchema(serde_json::Value),
    /// A grammar in llguidance's Lark dialect (`%json {…}` embeds a JSON Schema; see
    /// [`crate::constraint::embed_json_schema`]).
    Lark(String),
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// End of turn, end of sequence or a stop sequence.
    Stop,
    /// `max_output_tokens` (or the context) ran out.
    MaxTokens,
}

/// What a running generation reports, in order: text deltas, then exactly one `Done` or
/// `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// New text, and how many tokens have been generated so far.
    Text {
        text: String,
        output_tokens: u32,
    },
    Done {
        finish: Finish,
        prompt_tokens: u32,
        output_tokens: u32,
    },
    Failed(EngineError),
}

/// The receiving end of a generation. Dropping it cancels the generation: the engine frees
/// the sequence within one decode step.
pub type EventStream = mpsc::UnboundedReceiver<Event>;

/// Facts about a backend the catalog reports honestly.
#[derive(Debug, Clone)]
pub struct BackendInfo {
    /// Human-readable name, sent in the `x-gemd-backend` header (e.g. `llama.cpp:gemma-3-270m-q4_k_m.gguf`).
    pub name: String,
    /// The most prompt + output tokens one sequence can hold.
    pub context_per_sequence: u32,
    /// Whether image parts can be given to this backend.
    pub accepts_images: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("The model is overloaded. Please try again later.")]
    Overloaded,
    #[error("The input token count ({tokens}) exceeds the maximum number of tokens allowed ({limit}).")]
    PromptTooLong { tokens: usize, limit: usize },
    /// Tokenising stopped once the count passed the limit (or the text's length alone proved
    /// it would): `tokens` is a lower bound, not the count.
    #[error("The input token count (at least {tokens}) exceeds the maximum number of tokens allowed ({limit}).")]
    PromptTooLongAtLeast { tokens: usize, limit: usize },
    /// The caller gave up (its client left) before the work finished.
    #[error("The request was cancelled.")]
    Cancelled,
    #[error("The engine is shutting down.")]
    ShuttingDown,
    /// The chat template refused the conversation (`raise_exception`, e.g. roles that do not
    /// alternate as the model requires): the request's fault.
    #[error("{0}")]
    InvalidPrompt(String),
    /// A constraint the grammar compiler rejected (an unsupported schema keyword, a bad
    /// regex): the request's fault.
    #[error("{0}")]
    InvalidConstraint(String),
    #[error("internal engine error: {0}")]
    Internal(String),
}

/// A model backend. Implementations must be cheap to call from async code: `prepare` is CPU
/// work proportional to the prompt, `generate` only enqueues.
pub trait Engine: Send + Sync + 'static {
    fn info(&self) -> &BackendInfo;

    /// How this backend's model is prompted: its template, tool-call syntax and turn markers.
    fn chat_format(&self) -> &ChatFormat;

    /// Renders the chat with the model's chat template and tokenises it.
    fn prepare(&self, prompt: &ChatPrompt) -> Result<PreparedPrompt, EngineError>;

    /// [`Engine::prepare`] within `bounds`: `PromptTooLong`/`PromptTooLongAtLeast` past
    /// `max_tokens`, `Cancelled` once `cancel` is set. A backend whose tokenisation is costly
    /// checks both as it goes; this default (for cheap ones) checks them around `prepare`.
    fn prepare_bounded(&self, prompt: &ChatPrompt, bounds: &PrepareBounds) -> Result<PreparedPrompt, EngineError> {
        if bounds.cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let prepared = self.prepare(prompt)?;
        match bounds.max_tokens {
            Some(limit) if prepared.len() > limit => Err(EngineError::PromptTooLong { tokens: prepared.len(), limit }),
            _ => Ok(prepared),
        }
    }

    /// Starts generating; events arrive on the returned stream.
    fn generate(&self, prompt: PreparedPrompt, params: SamplingParams) -> Result<EventStream, EngineError>;

    /// Current counters.
    fn metrics(&self) -> EngineMetrics {
        EngineMetrics::default()
    }
}

/// Counters a backend exposes for `/metrics` and tests (cancellation, queueing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineMetrics {
    pub active_sequences: u64,
    pub queued_requests: u64,
    pub decode_steps_total: u64,
    pub prompt_tokens_total: u64,
    pub generated_tokens_total: u64,
    pub sequences_finished_total: u64,
    pub sequences_cancelled_total: u64,
    pub requests_rejected_total: u64,
    pub prefix_cache_hits_total: u64,
    pub prefix_tokens_reused_total: u64,
    /// Tokens through the model, batch padding included.
    pub batch_tokens_total: u64,
    /// Time in the model's forward passes and in sampling between them.
    pub decode_micros_total: u64,
    pub sample_micros_total: u64,
    /// Time copying cached prompt prefixes for reuse.
    pub prefix_copy_micros_total: u64,
    /// Bounded pieces of prompt text tokenised, and tokenisations stopped early (cancelled,
    /// or past their limit): the work a prompt costs, and proof that stopping stops it.
    pub tokenizer_chunks_total: u64,
    pub tokenizations_stopped_total: u64,
}
