//! Sizing of the llama.cpp engine: threads, how many sequences share the context, and how the
//! KV pool is divided among them.

use std::path::PathBuf;

use super::kernels::Kernels;

#[derive(Debug, Clone)]
pub struct LlamaConfig {
    pub model_path: PathBuf,
    /// CPU threads for decoding (default: all cores).
    pub threads: i32,
    /// Sequences decoded together in one batch.
    pub max_sequences: u32,
    /// The most tokens (prompt + output) one sequence may hold.
    pub context_per_sequence: u32,
    /// The shared KV pool in tokens; sequences reserve prompt + max output from it on admission.
    pub kv_tokens: u32,
    /// Tokens per `llama_decode` call (decode tokens of running sequences + a prefill chunk).
    pub batch_size: u32,
    /// Requests waiting for a slot; beyond this they are refused with 503 UNAVAILABLE.
    pub queue_capacity: usize,
    /// Prompt tokens prefilled per step while other sequences decode.
    pub prefill_chunk: u32,
    /// Finished sequences kept for prefix reuse (0 disables the prefix cache).
    pub prefix_cache_entries: u32,
    /// KV tokens the prefix cache may hold, on top of `kv_tokens`.
    pub prefix_cache_tokens: u32,
    /// Batch-invariant kernels (the default) or llama.cpp's fastest (see kernels.rs).
    pub kernels: Kernels,
    /// The chat template to prompt with instead of the GGUF's own `tokenizer.chat_template`:
    /// a built-in name (`chatml`, `gemma`, `llama3`, `mistral`, `plain`) or the path of a
    /// Jinja file. `None`: the file's template, or the plain format when it has none.
    pub chat_template: Option<String>,
}

impl LlamaConfig {
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        let threads = std::thread::available_parallelism().map(|n| n.get() as i32).unwrap_or(2);
        LlamaConfig {
            model_path: model_path.into(),
            threads,
            max_sequences: 8,
            context_per_sequence: 8192,
            kv_tokens: 32768,
            batch_size: 512,
            queue_capacity: 64,
            prefill_chunk: 128,
            // On: a reused prefix is copied into cells of its own, in position order, and
            // answers exactly as a cold prefill (reuse.rs; tests/prefix_reuse.rs).
            prefix_cache_entries: 8,
            prefix_cache_tokens: 16384,
            kernels: Kernels::default(),
            chat_template: None,
        }
    }
}
