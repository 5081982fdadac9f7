//! The serving-overhead ceiling: llama.cpp driven directly, with no HTTP, no scheduler and
//! no text handling. N sequences prefill the same prompt, then decode G tokens each in one
//! batch per step (greedy, end-of-sequence ignored). `gemd bench raw` prints the figures next
//! to the served ones.

use std::path::Path;
use std::time::Instant;

use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;

use super::kernels::Kernels;
use crate::api::EngineError;

#[derive(Debug, Clone, Copy)]
pub struct RawBenchResult {
    pub sequences: u32,
    pub prompt_tokens: usize,
    pub generated_per_sequence: u32,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    pub ms_per_step: f64,
}

/// Drives llama.cpp with `kernels` (`Default`: llama.cpp's own, the ceiling). `context`: the KV
/// pool in tokens (default: just what the sequences need), to compare with gemd's serving
/// context (`kv_tokens` + prefix cache).
pub fn run(
    model_path: &Path,
    threads: i32,
    sequences: u32,
    prompt: &str,
    generate: u32,
    context: Option<u32>,
    kernels: Kernels,
) -> Result<RawBenchResult, EngineError> {
    let err = |e: &dyn std::fmt::Display| EngineError::Internal(e.to_string());
    kernels.configure_process();
    let backend = super::backend()?;
    let model = LlamaModel::load_from_file(backend, model_path, &LlamaModelParams::default()).map_err(|e| err(&e))?;
    let tokens = model.vocab().tokenize(prompt.as_bytes(), true, false);
    let n_ctx = context.unwrap_or(sequences * (tokens.len() as u32 + generate + 8));
    let params = super::context_params(kernels, n_ctx.max(512), 512, sequences, threads);
    let mut ctx = model.new_context(backend, params).map_err(|e| err(&e))?;
    let mut batch = LlamaBatch::new(512, 1);
    let mut samplers: Vec<LlamaSampler> = (0..sequences).map(|_| LlamaSampler::greedy()).collect();

    // Prefill each sequence's prompt (in 512-token chunks), recording where its logits are.
    let started = Instant::now();
    let mut last = vec![llama_cpp_2::token::LlamaToken(0); sequences as usize];
    for s in 0..sequences as i32 {
        for (chunk_no, chunk) in tokens.chunks(512).enumerate() {
            batch.clear();
            for (i, t) in chunk.iter().enumerate() {
                let pos = (chunk_no * 512 + i) as i32;
                let is_last = pos as usize + 1 == tokens.len();
                batch.add(*t, pos, &[s], is_last).map_err(|e| err(&e))?;
            }
            ctx.decode(&mut batch).map_err(|e| err(&e))?;
        }
        last[s as usize] = samplers[s as usize].sample(&ctx, batch.n_tokens() - 1);
    }
    let prefill = started.elapsed().as_secs_f64();

    // Decode: one token per sequence per step, all sequences in one batch.
    let started = Instant::now();
    for step in 0..generate {
        batch.clear();
        for s in 0..sequences as i32 {
            batch.add(last[s as usize], tokens.len() as i32 + step as i32, &[s], true).map_err(|e| err(&e))?;
        }
        ctx.decode(&mut batch).map_err(|e| err(&e))?;
        for s in 0..sequences as usize {
            last[s] = samplers[s].sample(&ctx, s as i32);
        }
    }
    let decode = started.elapsed().as_secs_f64();
    Ok(RawBenchResult {
        sequences,
        prompt_tokens: tokens.len(),
        generated_per_sequence: generate,
        prefill_tokens_per_s: (tokens.len() as f64 * sequences as f64) / prefill,
        decode_tokens_per_s: (generate as f64 * sequences as f64) / decode,
        ms_per_step: decode * 1000.0 / generate.max(1) as f64,
    })
}
