//! Compiles a request's [`Constraint`] into an llguidance `Matcher` for this model's
//! vocabulary. Compiling happens on the caller's thread before the job is queued, so a
//! grammar llguidance rejects is a request error, never something llama.cpp sees (its own
//! grammar code aborts the process on misuse). The token trie behind the compiler walks the
//! whole 262k-token vocabulary once, so it is built on the first constrained request only.

use std::sync::OnceLock;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llguidance::{Matcher, ParserFactory};

use crate::api::{Constraint, EngineError};
use crate::constraint::compile;

#[derive(Default)]
pub struct Grammars {
    factory: OnceLock<Result<ParserFactory, String>>,
}

impl Grammars {
    fn factory(&self, model: &LlamaModel) -> Result<&ParserFactory, EngineError> {
        self.factory
            .get_or_init(|| {
                let env = LlamaSampler::llguidance_tok_env(model);
                let mut factory = ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
                // Grammar errors are returned to the client; they need not be logged twice.
                factory.quiet();
                Ok(factory)
            })
            .as_ref()
            .map_err(|e| EngineError::Internal(format!("llguidance: {e}")))
    }

    /// A fresh matcher at the start of `constraint`'s language.
    pub fn matcher(&self, model: &LlamaModel, constraint: &Constraint) -> Result<Matcher, EngineError> {
        compile(self.factory(model)?, constraint).map_err(|e| EngineError::InvalidConstraint(format!("The schema or grammar cannot be enforced: {e}")))
    }
}
