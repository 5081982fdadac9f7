//! A backend's prompts without its weights: the GGUF loaded vocabulary-only (llama.cpp's
//! `vocab_only`: header, hyperparameters, vocabulary and chat template; no tensors, no
//! context, no engine thread), with the chat format, control tokens and text splitter that
//! [`super::LlamaEngine`] builds at load, so a chat is rendered and tokenised exactly as the
//! serving engine does it (tests/chat_tokens.rs compares the two). `gemd render` puts it in
//! the catalog to print and count what a request feeds the model; it cannot generate.

use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

use super::chunked::{self, TextSplitter};
use super::prompt::{self, ControlTokens};
use super::LlamaConfig;
use crate::api::{BackendInfo, Engine, EngineError, EventStream, PrepareBounds, PreparedPrompt, SamplingParams};
use crate::chat::{ChatFormat, ChatPrompt};

pub struct VocabOnlyEngine {
    info: BackendInfo,
    model: LlamaModel,
    format: ChatFormat,
    controls: ControlTokens,
    splitter: TextSplitter,
}

impl VocabOnlyEngine {
    /// Reads `config`'s model (its vocabulary only) and chat template choice; the sizing
    /// fields matter only for the context the backend reports.
    pub fn load(config: &LlamaConfig) -> Result<Self, EngineError> {
        let model = super::load_model(config, &LlamaModelParams::default().with_vocab_only(true))?;
        Ok(VocabOnlyEngine {
            info: super::backend_info(config, &model),
            format: super::prompt_format(config, &model)?,
            controls: ControlTokens::of(&model),
            splitter: TextSplitter::of(&model, chunked::CHUNK_BYTES),
            model,
        })
    }
}

impl Engine for VocabOnlyEngine {
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
            prompt::tokenize(&self.model, &self.controls, &self.splitter, &self.format, prompt, bounds, &mut chunks)?;
        Ok(PreparedPrompt { tokens: tokens.into() })
    }

    fn generate(&self, _: PreparedPrompt, _: SamplingParams) -> Result<EventStream, EngineError> {
        Err(EngineError::Internal(format!(
            "{} is loaded without its weights: it renders and counts prompts only",
            self.info.name
        )))
    }
}
