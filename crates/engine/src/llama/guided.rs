//! Constrained sampling that fails loudly: the grammar's token mask is applied to the logits
//! here, the sampler chain draws from the allowed tokens only, and the drawn token advances
//! the grammar. Any grammar error (a mask the parser cannot compute, a token it cannot take,
//! a parser stopped for being too complex) is returned, and the scheduler ends the sequence
//! with an error.
//!
//! Why not llama-cpp-2's llguidance sampler (`LlamaSampler::from(matcher)`): when its matcher
//! errs, its `apply` returns without masking and its `accept` ignores the error, so decoding
//! goes on unconstrained and a "JSON" answer silently becomes free text; and it owns the
//! matcher behind the C vtable, where nobody can ask it whether it failed. Building the
//! candidate array here costs what llama.cpp's own `llama_sampler_sample` does (one entry per
//! token), less: only the allowed tokens are copied.

use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llguidance::Matcher;

/// Why a constrained sequence cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the output grammar failed: {0}")]
pub struct GrammarFailed(String);

impl GrammarFailed {
    fn from_llguidance(e: impl std::fmt::Display) -> Self {
        let text = e.to_string();
        GrammarFailed(text.lines().next().unwrap_or_default().trim().to_string())
    }
}

pub struct Guided {
    matcher: Matcher,
    chain: LlamaSampler,
    /// The allowed tokens of the current step (kept to reuse the allocation).
    candidates: Vec<LlamaTokenData>,
}

impl Guided {
    /// `chain` draws among what `matcher` allows; it must select a token (end in a greedy or
    /// a distribution sampler).
    pub fn new(matcher: Matcher, chain: LlamaSampler) -> Self {
        Guided { matcher, chain, candidates: Vec::new() }
    }

    /// The next token given the model's `logits` (one per vocabulary entry), already taken by
    /// the grammar and the chain.
    pub fn pick(&mut self, logits: &[f32]) -> Result<LlamaToken, GrammarFailed> {
        // A finished grammar allows exactly the end-of-generation tokens.
        let mask = self.matcher.compute_mask_or_eos().map_err(GrammarFailed::from_llguidance)?;
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        mask.iter_set_entries(|id| {
            if let Some(&logit) = logits.get(id) {
                candidates.push(LlamaTokenData::new(LlamaToken(id as i32), logit, 0.0));
            }
        });
        if candidates.is_empty() {
            return Err(GrammarFailed("it allows none of the model's tokens".into()));
        }
        let mut array = LlamaTokenDataArray::new(candidates, false);
        self.chain.apply(&mut array);
        let token = array.selected_token();
        self.candidates = array.data;
        let token = token.ok_or_else(|| GrammarFailed("the sampler chose no token".into()))?;
        self.chain.accept(token);
        // A stopped matcher has taken its last token; only end-of-generation comes now.
        if !self.matcher.is_stopped() {
            self.matcher.consume_token(token.0 as u32).map_err(GrammarFailed::from_llguidance)?;
        }
        if self.matcher.is_error() || !self.matcher.stop_reason().is_ok() {
            let reason = self.matcher.get_error().unwrap_or_else(|| self.matcher.stop_reason().to_string());
            return Err(GrammarFailed::from_llguidance(reason));
        }
        Ok(token)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use llguidance::api::{ParserLimits, TopLevelGrammar};
    use llguidance::toktrie::ApproximateTokEnv;
    use llguidance::ParserFactory;

    use super::*;

    /// A matcher of the Lark `grammar` over a byte-level vocabulary.
    pub(crate) fn matcher(grammar: &str, limits: ParserLimits) -> Matcher {
        let mut factory = ParserFactory::new_simple(&ApproximateTokEnv::single_byte_env()).unwrap();
        factory.quiet();
        *factory.limits_mut() = limits;
        Matcher::new(factory.create_parser(TopLevelGrammar::from_lark(grammar.into())))
    }

    /// Logits over the byte vocabulary (and its special tokens) that prefer `favourite`.
    fn logits_for(m: &Matcher, favourite: u8) -> Vec<f32> {
        let n = m.tok_env().unwrap().tok_trie().vocab_size();
        (0..n).map(|i| if i == favourite as usize { 10.0 } else { 0.0 }).collect()
    }

    #[test]
    fn only_allowed_tokens_are_drawn() {
        let mut guided = Guided::new(matcher(r#"start: "ab""#, ParserLimits::default()), LlamaSampler::greedy());
        let logits = logits_for(&guided.matcher, b'z');
        assert_eq!(guided.pick(&logits), Ok(LlamaToken(b'a' as i32)));
        assert_eq!(guided.pick(&logits), Ok(LlamaToken(b'b' as i32)));
        // Complete: the end-of-text token only, whatever the model prefers.
        let eos = guided.matcher.tok_env().unwrap().tok_trie().eos_token();
        assert_eq!(guided.pick(&logits), Ok(LlamaToken(eos as i32)));
    }

    #[test]
    fn a_grammar_error_mid_output_fails_the_pick_for_good() {
        // An ambiguous grammar whose Earley rows grow with every `a` until the row limit.
        let alternatives: Vec<String> = (2..12).map(|n| vec!["s"; n].join(" ")).collect();
        let grammar = format!("start: s\ns: {} | \"a\"\n", alternatives.join(" | "));
        let limits = ParserLimits { max_items_in_row: 300, ..ParserLimits::default() };
        let mut guided = Guided::new(matcher(&grammar, limits), LlamaSampler::greedy());
        let logits = logits_for(&guided.matcher, b'a');
        let mut taken = 0;
        let failure = loop {
            match guided.pick(&logits) {
                Ok(token) => {
                    assert_eq!(token, LlamaToken(b'a' as i32), "a token the grammar allows");
                    taken += 1;
                    assert!(taken < 1000, "the grammar never failed");
                }
                Err(e) => break e,
            }
        };
        assert!(taken > 1, "failed at the first token: {failure}");
        assert!(failure.to_string().contains("items"), "{failure}");
        assert!(guided.pick(&logits).is_err(), "a failed grammar stays failed");
    }
}
