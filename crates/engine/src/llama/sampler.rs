//! Builds one request's llama.cpp sampler chain from its `SamplingParams`, in llama.cpp's own
//! order: penalties, top-k, top-p, temperature, then a seeded draw (or greedy at temperature 0).
//! A grammar constraint goes first, while the candidates are still the whole vocabulary, so
//! that top-k and top-p choose among allowed tokens only.

use llama_cpp_2::sampling::LlamaSampler;
use llguidance::Matcher;

use crate::api::SamplingParams;

/// Defaults when a request leaves a knob unset: the Gemini API's defaults for Gemma models
/// (temperature 1, topP 0.95, topK 64).
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
pub const DEFAULT_TOP_P: f32 = 0.95;
pub const DEFAULT_TOP_K: i32 = 64;
/// How many recent tokens presence/frequency penalties look at.
const PENALTY_WINDOW: i32 = 256;

pub fn build(params: &SamplingParams, n_vocab: i32, fallback_seed: u32, grammar: Option<Matcher>) -> LlamaSampler {
    let mut chain = Vec::new();
    if let Some(matcher) = grammar {
        // Its `accept` runs inside `sample()`; nothing may accept the token a second time.
        chain.push(LlamaSampler::from(matcher));
    }
    let presence = params.presence_penalty.unwrap_or(0.0);
    let frequency = params.frequency_penalty.unwrap_or(0.0);
    if presence != 0.0 || frequency != 0.0 {
        chain.push(LlamaSampler::penalties(n_vocab, PENALTY_WINDOW, 1.0, frequency, presence));
    }
    let temperature = params.temperature.unwrap_or(DEFAULT_TEMPERATURE);
    if temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
        return LlamaSampler::chain_simple(chain);
    }
    let top_k = params.top_k.unwrap_or(DEFAULT_TOP_K);
    if top_k > 0 {
        chain.push(LlamaSampler::top_k(top_k));
    }
    let top_p = params.top_p.unwrap_or(DEFAULT_TOP_P);
    if top_p < 1.0 {
        chain.push(LlamaSampler::top_p(top_p.max(0.0), 1));
    }
    chain.push(LlamaSampler::temp(temperature));
    chain.push(LlamaSampler::dist(params.seed.unwrap_or(fallback_seed)));
    LlamaSampler::chain_simple(chain)
}
