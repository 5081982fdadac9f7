//! The in-process llama.cpp engine: one GGUF model loaded once, one context owned by a
//! dedicated thread (llama.cpp contexts cannot be shared between threads), many sequences
//! batched together in that context. Tokenisation runs on the caller's thread against the
//! shared, read-only model.

pub mod chunked;
mod config;
mod grammar;
mod guided;
pub mod kernels;
mod kv;
mod ledger;
mod metrics;
mod parked;
mod prefix_cache;
mod prompt;
mod queue_bound;
pub mod raw_bench;
pub mod reuse;
pub mod sampler;
mod scheduler;
mod vocab_only;

use std::num::NonZeroU32;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use tokio::sync::mpsc::unbounded_channel;

pub use config::LlamaConfig;
use grammar::Grammars;
use kernels::Kernels;
use ledger::Capacity;
use metrics::{add, Counters};
use queue_bound::QueueBound;
use scheduler::{Job, Limits};
pub use vocab_only::VocabOnlyEngine;

use crate::api::{
    BackendInfo, Engine, EngineError, EngineMetrics, EventStream, PrepareBounds, PreparedPrompt, SamplingParams,
};
use crate::chat::{ChatFormat, ChatPrompt};
use chunked::TextSplitter;
use prompt::ControlTokens;

/// llama.cpp's global state: initialised once per process, however many engines exist.
pub fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Internal(format!("llama.cpp backend: {e}")))
}

pub struct LlamaEngine {
    info: BackendInfo,
    model: Arc<LlamaModel>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    counters: Arc<Counters>,
    queue: QueueBound,
    thread: Mutex<Option<JoinHandle<()>>>,
    grammars: Grammars,
    format: ChatFormat,
    controls: ControlTokens,
    splitter: TextSplitter,
}

impl LlamaEngine {
    /// Loads the model and starts the engine thread. Fails (never aborts) on a missing or
    /// unreadable model or an impossible configuration.
    pub fn load(config: LlamaConfig) -> Result<Self, EngineError> {
        check_model_file(&config)?;
        if config.max_sequences == 0 || config.context_per_sequence < 16 {
            return Err(EngineError::Internal("max_sequences must be ≥ 1 and context_per_sequence ≥ 16".into()));
        }
        if config.kv_tokens < config.context_per_sequence {
            return Err(EngineError::Internal("kv_tokens must be at least context_per_sequence".into()));
        }
        if config.batch_size <= config.max_sequences {
            return Err(EngineError::Internal("batch_size must exceed max_sequences".into()));
        }
        let kernels = config.kernels;
        kernels.configure_process();
        let backend = backend()?;
        let model = Arc::new(load_model(&config, &LlamaModelParams::default())?);
        let info = backend_info(&config, &model);
        let format = prompt_format(&config, &model)?;
        let controls = ControlTokens::of(&model);
        let splitter = TextSplitter::of(&model, chunked::CHUNK_BYTES);
        // The template's end-of-turn markers end generation as EOS does (llama.cpp's own EOG
        // set misses some, e.g. a ChatML template on a model whose EOS is <|endoftext|>).
        let stop_tokens: Vec<i32> = format.end_of_turn().iter().filter_map(|t| controls.get(t)).collect();
        tracing::info!(backend = %info.name, template = format.source(), tools = format.tool_syntax().name(), "chat format");

        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), EngineError>>();
        let counters = Arc::new(Counters::default());
        // Room for every job the queue bound admits (it also counts free batch slots), so
        // the grammar queue never refuses first.
        let grammars = Grammars::start(
            Arc::clone(&model),
            Arc::clone(&counters),
            config.queue_capacity + config.max_sequences as usize,
        )?;
        let thread_model = Arc::clone(&model);
        let thread_counters = Arc::clone(&counters);
        let cache_slots = if config.prefix_cache_tokens == 0 { 0 } else { config.prefix_cache_entries };
        let cache_tokens = if cache_slots == 0 { 0 } else { config.prefix_cache_tokens };
        let limits = Limits {
            capacity: Capacity {
                sequences: config.max_sequences,
                kv_tokens: config.kv_tokens,
                cache_slots,
                cache_tokens,
            },
            batch_size: config.batch_size,
            prefill_chunk: config.prefill_chunk.clamp(1, config.batch_size),
            swa_window: sliding_window(&model),
            stop_tokens,
        };
        let params = context_params(
            kernels,
            config.kv_tokens + cache_tokens,
            config.batch_size,
            config.max_sequences + cache_slots,
            config.threads,
        );
        let thread = std::thread::Builder::new()
            .name("gemd-llama".into())
            // Token masks (llguidance) are computed here, and recurse like the compiler does.
            .stack_size(crate::constraint::COMPILE_STACK_BYTES)
            .spawn(move || {
                let ctx = match thread_model.new_context(backend, params) {
                    Ok(ctx) => ctx,
                    Err(e) => {
                        let _ =
                            ready_tx.send(Err(EngineError::Internal(format!("creating the llama.cpp context: {e}"))));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                scheduler::run(&thread_model, ctx, rx, limits, &thread_counters);
            })
            .map_err(|e| EngineError::Internal(format!("spawning the engine thread: {e}")))?;
        ready_rx.recv().map_err(|_| EngineError::Internal("the engine thread died while starting".into()))??;
        Ok(LlamaEngine {
            info,
            model,
            jobs: Mutex::new(Some(tx)),
            counters,
            queue: QueueBound { capacity: config.queue_capacity, max_sequences: config.max_sequences as usize },
            thread: Mutex::new(Some(thread)),
            grammars,
            format,
            controls,
            splitter,
        })
    }

    /// Stops taking work, lets running sequences finish and joins the engine thread.
    pub fn shutdown(&self) {
        self.jobs.lock().expect("jobs lock").take();
        // Queued grammars still reach the engine thread, which ends once they have.
        self.grammars.shutdown();
        if let Some(handle) = self.thread.lock().expect("thread lock").take() {
            let _ = handle.join();
        }
    }
}

/// `config`'s model, loaded with `params` (all of it, or its vocabulary only).
fn load_model(config: &LlamaConfig, params: &LlamaModelParams) -> Result<LlamaModel, EngineError> {
    check_model_file(config)?;
    LlamaModel::load_from_file(backend()?, &config.model_path, params)
        .map_err(|e| EngineError::Internal(format!("loading {}: {e}", config.model_path.display())))
}

/// A missing model file, refused before llama.cpp is asked to read it.
fn check_model_file(config: &LlamaConfig) -> Result<(), EngineError> {
    match config.model_path.is_file() {
        true => Ok(()),
        false => Err(EngineError::Internal(format!("model file {} does not exist", config.model_path.display()))),
    }
}

/// What the catalog reports of a backend on `model`.
fn backend_info(config: &LlamaConfig, model: &LlamaModel) -> BackendInfo {
    let context_per_sequence = config.context_per_sequence.min(trained_context(model));
    let file = config.model_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    BackendInfo { name: format!("llama.cpp:{file}"), context_per_sequence, accepts_images: false }
}

/// The context the model was trained with. A vocabulary-only load leaves llama.cpp's own
/// figure at 0, so the GGUF's `{arch}.context_length` is read then.
fn trained_context(model: &LlamaModel) -> u32 {
    match model.n_ctx_train() {
        0 => {
            let arch = model.meta_val_str("general.architecture").unwrap_or_default();
            let key = format!("{arch}.context_length");
            model.meta_val_str(&key).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
        }
        n => n,
    }
}

/// The chat format `config` chooses for `model` (see [`chat_format`]).
fn prompt_format(config: &LlamaConfig, model: &LlamaModel) -> Result<ChatFormat, EngineError> {
    chat_format(model, config.chat_template.as_deref())
        .map_err(|e| EngineError::Internal(format!("the chat template of {}: {e}", config.model_path.display())))
}

/// The backend's chat format: the configured template (a built-in name or a file), else
/// the GGUF's own `tokenizer.chat_template`, else the plain format for base models.
fn chat_format(model: &LlamaModel, choice: Option<&str>) -> Result<ChatFormat, crate::chat::ChatFormatError> {
    let vocab = model.vocab();
    let bos = prompt::token_text(model, vocab.bos());
    let eos = prompt::token_text(model, vocab.eos());
    if let Some(choice) = choice {
        return ChatFormat::chosen(choice, &bos, &eos);
    }
    match model.chat_template(None).ok().and_then(|t| t.to_string().ok()) {
        Some(template) => ChatFormat::from_template("gguf", &template, &bos, &eos),
        None => ChatFormat::builtin("plain", &bos, &eos),
    }
}

/// The llama.cpp context every gemd engine uses (the raw bench and the engine's tests too): one
/// KV pool of `n_ctx` cells shared by `n_seq_max` sequences, in `kernels`' cache type.
pub fn context_params(kernels: Kernels, n_ctx: u32, batch: u32, n_seq_max: u32, threads: i32) -> LlamaContextParams {
    LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(batch)
        .with_n_ubatch(batch)
        .with_n_seq_max(n_seq_max)
        .with_type_k(kernels.kv_type())
        .with_type_v(kernels.kv_type())
        .with_kv_unified(true)
        // llama.cpp defaults to a full-size sliding-window cache (every SWA layer sized like
        // the global ones); gemd never edits the middle of a sequence, so the window suffices.
        .with_swa_full(false)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
}

/// The model's sliding attention window from its GGUF metadata (0 when it has none).
fn sliding_window(model: &LlamaModel) -> u32 {
    let arch = model.meta_val_str("general.architecture").unwrap_or_default();
    model
        .meta_val_str(&format!("{arch}.attention.sliding_window"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

impl Drop for LlamaEngine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Engine for LlamaEngine {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn chat_format(&self) -> &ChatFormat {
        &self.format
    }

    fn prepare(&self, prompt: &ChatPrompt) -> Result<PreparedPrompt, EngineError> {
        self.prepare_bounded(prompt, &PrepareBounds::default())
    }

    fn prepare_bounded(&self, prompt: &ChatPrompt, bounds: &PrepareBounds) -> Result<PreparedPrompt, EngineError> {
        let mut chunks = 0;
        let tokens =
            prompt::tokenize(&self.model, &self.controls, &self.splitter, &self.format, prompt, bounds, &mut chunks);
        add(&self.counters.tokenizer_chunks, chunks);
        if matches!(tokens, Err(EngineError::Cancelled | EngineError::PromptTooLongAtLeast { .. })) {
            add(&self.counters.tokenizations_stopped, 1);
        }
        Ok(PreparedPrompt { tokens: tokens?.into() })
    }

    fn generate(&self, prompt: PreparedPrompt, mut params: SamplingParams) -> Result<EventStream, EngineError> {
        params.stop_sequences.extend(self.format.stop_texts().iter().map(|s| s.to_string()));
        let limit = self.info.context_per_sequence as usize;
        if prompt.len() >= limit {
            return Err(EngineError::PromptTooLong { tokens: prompt.len(), limit: limit - 1 });
        }
        let room = (limit - prompt.len()) as u32;
        let max_output = params.max_output_tokens.clamp(1, room);
        let guard = self.jobs.lock().expect("jobs lock");
        let Some(jobs) = guard.as_ref() else { return Err(EngineError::ShuttingDown) };
        // Counted as queued before the check, so two racing requests cannot both take the
        // last place (queue_bound.rs says what the bound counts).
        let queued = self.counters.queued.fetch_add(1, std::sync::atomic::Ordering::AcqRel) as usize;
        let active = self.counters.active.load(std::sync::atomic::Ordering::Acquire) as usize;
        if !self.queue.admits(queued, active) {
            metrics::sub(&self.counters.queued, 1);
            add(&self.counters.rejected, 1);
            return Err(EngineError::Overloaded);
        }
        let (events, stream) = unbounded_channel();
        let job = Job { tokens: prompt.tokens, params, max_output, grammar: None, events };
        // A grammar compiles first, on the grammar threads, which then hand the job on.
        let sent = match job.params.constraint {
            Some(_) => self.grammars.submit(job, jobs.clone()),
            None => jobs.send(job).map_err(|_| EngineError::ShuttingDown),
        };
        sent.inspect_err(|_| metrics::sub(&self.counters.queued, 1))?;
        Ok(stream)
    }

    fn metrics(&self) -> EngineMetrics {
        self.counters.snapshot()
    }
}
