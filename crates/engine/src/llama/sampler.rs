//! Builds one request's llama.cpp sampler chain from its `SamplingParams`, in llama.cpp's own
//! order: penalties, top-k, top-p, temperature, then a seeded draw (or greedy at temperature 0).
//! A grammar constraint goes first, so that top-k and top-p choose among allowed tokens only:
//! see [`Guided`]. A plain greedy request (temperature 0, no grammar, no penalties) skips the
//! chain: see [`Picker::Greedy`].

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llguidance::Matcher;

pub use super::guided::{GrammarFailed, Guided};
use crate::api::SamplingParams;

/// Defaults when a request leaves a knob unset: the Gemini API's defaults for Gemma models
/// (temperature 1, topP 0.95, topK 64).
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
pub const DEFAULT_TOP_P: f32 = 0.95;
pub const DEFAULT_TOP_K: i32 = 64;
/// How many recent tokens presence/frequency penalties look at.
const PENALTY_WINDOW: i32 = 256;

/// How one sequence picks its next token.
pub enum Picker {
    /// The first highest logit, read in place. llama.cpp's greedy sampler picks the same token,
    /// but only after its chain has copied all 262,144 logits into a candidate array, once per
    /// sequence per step.
    Greedy,
    Chain(LlamaSampler),
    /// A grammar's mask, then the chain (boxed: a matcher is large).
    Guided(Box<Guided>),
}

impl Picker {
    /// The next token from the logits at batch index `idx`. A chain also records it (a grammar
    /// advances); nothing may accept it again. Fails only when a grammar does: the sequence
    /// must end then, since no later token could be checked against it.
    pub fn pick(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> Result<LlamaToken, GrammarFailed> {
        match self {
            Picker::Greedy => Ok(LlamaToken(first_max(ctx.get_logits_ith(idx)) as i32)),
            Picker::Chain(sampler) => Ok(sampler.sample(ctx, idx)),
            Picker::Guided(guided) => guided.pick(ctx.get_logits_ith(idx)),
        }
    }
}

/// Index of the first largest value, compared as llama.cpp's greedy sampler compares (a later
/// value wins only if strictly greater).
pub fn first_max(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &logit) in logits.iter().enumerate().skip(1) {
        if logit > logits[best] {
            best = i;
        }
    }
    best
}

pub fn build(params: &SamplingParams, n_vocab: i32, fallback_seed: u32, grammar: Option<Matcher>) -> Picker {
    let Some(matcher) = grammar else { return free(params, n_vocab, fallback_seed) };
    match free(params, n_vocab, fallback_seed) {
        Picker::Chain(chain) => Picker::Guided(Box::new(Guided::new(matcher, chain))),
        // The mask leaves the allowed tokens only; greedy picks the first best of them.
        _ => Picker::Guided(Box::new(Guided::new(matcher, LlamaSampler::greedy()))),
    }
}

/// The picker of an unconstrained request.
fn free(params: &SamplingParams, n_vocab: i32, fallback_seed: u32) -> Picker {
    let mut chain = Vec::new();
    let presence = params.presence_penalty.unwrap_or(0.0);
    let frequency = params.frequency_penalty.unwrap_or(0.0);
    if presence != 0.0 || frequency != 0.0 {
        chain.push(LlamaSampler::penalties(n_vocab, PENALTY_WINDOW, 1.0, frequency, presence));
    }
    let temperature = params.temperature.unwrap_or(DEFAULT_TEMPERATURE);
    if temperature <= 0.0 {
        if chain.is_empty() {
            return Picker::Greedy;
        }
        chain.push(LlamaSampler::greedy());
        return Picker::Chain(LlamaSampler::chain_simple(chain));
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
    Picker::Chain(LlamaSampler::chain_simple(chain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_max_keeps_the_first_of_equal_logits() {
        assert_eq!(first_max(&[1.0, 3.0, 2.0, 3.0]), 1);
        assert_eq!(first_max(&[5.0]), 0);
        assert_eq!(first_max(&[-1.0, -0.5, f32::NEG_INFINITY]), 1);
    }

    #[test]
    fn only_plain_greedy_requests_skip_the_chain() {
        let greedy = SamplingParams { temperature: Some(0.0), ..Default::default() };
        assert!(matches!(build(&greedy, 16, 1, None), Picker::Greedy));
        let penalised = SamplingParams { temperature: Some(0.0), presence_penalty: Some(0.5), ..Default::default() };
        assert!(matches!(build(&penalised, 16, 1, None), Picker::Chain(_)));
        let sampled = SamplingParams { temperature: Some(0.7), seed: Some(3), ..Default::default() };
        assert!(matches!(build(&sampled, 16, 1, None), Picker::Chain(_)));
    }

    #[test]
    fn a_grammar_always_guides() {
        let grammar = || Some(super::super::guided::tests::matcher("start: \"a\"", Default::default()));
        let greedy = SamplingParams { temperature: Some(0.0), ..Default::default() };
        assert!(matches!(build(&greedy, 256, 1, grammar()), Picker::Guided(_)));
        let sampled = SamplingParams { temperature: Some(0.7), ..Default::default() };
        assert!(matches!(build(&sampled, 256, 1, grammar()), Picker::Guided(_)));
    }
}
