//! A generative id bound to its running engine: the limits the pair allows, and the refusals
//! that name the backend (what this backend cannot read).

use std::sync::Arc;

use gemd_engine::Engine;

use super::spec::{GenerativeSpec, ModelSpec, ServedBy};
use crate::service::error::ApiError;

#[derive(Clone)]
pub struct Served {
    pub spec: Arc<ModelSpec>,
    pub engine: Arc<dyn Engine>,
}

impl Served {
    /// What only a generative id has; the catalog binds no other kind to an engine.
    pub fn generation(&self) -> &GenerativeSpec {
        self.spec.generative().expect("the catalog binds only generative ids to engines")
    }

    /// The name of the backend, as the `x-gemd-backend` header and refusals say it.
    pub fn backend_name(&self) -> String {
        self.engine.info().name.clone()
    }

    /// The prompt tokens this id accepts: the real limit, but never more than the backend
    /// holds (one token of the sequence is left for the answer).
    pub fn input_token_limit(&self) -> u32 {
        self.spec.input_token_limit.min(self.engine.info().context_per_sequence.saturating_sub(1))
    }

    pub fn output_token_limit(&self) -> u32 {
        self.generation().output_token_limit.min(self.engine.info().context_per_sequence)
    }

    /// Refuses a system instruction (at `field`) for ids that have none.
    pub fn check_system_instruction(&self, field: &str) -> Result<(), ApiError> {
        if self.generation().system_instruction {
            return Ok(());
        }
        Err(ApiError::SystemInstructionDisabled { model: self.spec.id.clone(), field: field.to_string() })
    }

    /// The refusal of an input of type `mime` (image, audio, …) the text-only backend cannot see.
    pub fn refuse_media(&self, mime: &str, field: String) -> ApiError {
        ApiError::MediaUnsupported {
            mime: mime.to_string(),
            model: self.spec.id.clone(),
            backend: self.backend_name(),
            field,
        }
    }

    pub fn served_by(&self) -> ServedBy {
        let info = self.engine.info();
        ServedBy {
            sentence: format!(
                "Served on this server by {} (up to {} tokens of context).",
                info.name, info.context_per_sequence
            ),
            input_token_limit: self.input_token_limit(),
            output_token_limit: self.output_token_limit(),
        }
    }
}
