//! Embedding for any API surface: an embedding id bound to its [`Embedder`], the checks of
//! what a request asks of it (the output dimension), and running the embedder off the async
//! workers after the quota admission. The native (`gemini::embed`) and OpenAI surfaces differ
//! only in request and answer shapes. Ids with a list of backends, or an upstream, are served
//! through [`route`].

pub mod route;

use std::sync::Arc;

use gemd_engine::embed::truncate_normalized;
use gemd_engine::{Embedder, EngineError};
use gemd_wire::parse::{semantic, WireError};

use super::access::{Access, Caller};
use super::catalog::{ModelSpec, ServedBy};
use super::error::ApiError;

/// An embedding id bound to its running embedder.
#[derive(Clone)]
pub struct EmbeddingServed {
    pub spec: Arc<ModelSpec>,
    pub embedder: Arc<dyn Embedder>,
}

/// One text to embed and the dimension to cut its vector to (checked by
/// [`EmbeddingServed::output_dimension`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedInput {
    pub text: String,
    pub dimension: usize,
}

/// The vectors of a request's inputs, in order, and the input tokens counted.
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: u32,
}

impl EmbeddingServed {
    /// Tokens of one input that reach the model; longer inputs are truncated to this.
    pub fn input_token_limit(&self) -> u32 {
        self.spec.input_token_limit.min(self.embedder.max_tokens() as u32)
    }

    pub fn dimension(&self) -> usize {
        self.embedder.dimension()
    }

    /// The name of the embedder, as the `x-gemd-backend` header and refusals say it.
    pub fn backend_name(&self) -> &str {
        self.embedder.name()
    }

    pub fn served_by(&self) -> ServedBy {
        // The Model message has no dimension field; the description says it, honestly.
        let sentence = format!(
            "Served on this server by {}: {}-dimensional vectors; inputs over {} tokens are truncated.",
            self.embedder.name(),
            self.dimension(),
            self.input_token_limit()
        );
        ServedBy { sentence, input_token_limit: self.input_token_limit(), output_token_limit: 1 }
    }

    /// Unit vectors for `inputs`, in order, each cut to its dimension and renormalised (one
    /// engine call, so the engine batches them), after admitting the request against
    /// `caller`'s quota for this model. Every surface's embedding requests pass here, so all
    /// are counted alike. Runs on a blocking thread: a forward pass is real CPU work. The
    /// tokens counted are each text's, capped at the model's limit, as it is truncated.
    pub async fn embed(
        &self,
        access: &Arc<Access>,
        caller: &Caller,
        inputs: Vec<EmbedInput>,
    ) -> Result<Embedded, ApiError> {
        let (texts, dimensions): (Vec<String>, Vec<usize>) = inputs.into_iter().map(|i| (i.text, i.dimension)).unzip();
        let limit = self.input_token_limit() as usize;
        // Each text's tokens up to the limit, reading no further: a 10 MB input costs what
        // its first `limit` tokens cost.
        let embedder = self.embedder.clone();
        let (texts, tokens) = blocking(move || {
            let tokens = texts.iter().map(|t| embedder.count_tokens_capped(t, limit)).sum::<Result<usize, _>>()?;
            Ok((texts, tokens))
        })
        .await?;
        let mut ticket = access.admit_embedding(caller, &self.spec.id, tokens as u64).await?;
        let embedder = self.embedder.clone();
        match blocking(move || embedder.embed(&texts)).await {
            Ok(vectors) => {
                ticket.settle().await;
                let vectors = vectors.into_iter().zip(dimensions).map(|(v, d)| truncate_normalized(v, d)).collect();
                Ok(Embedded { vectors, tokens: tokens as u32 })
            }
            Err(e) => {
                // Nothing was served: the admission is given back.
                ticket.refund();
                Err(e)
            }
        }
    }

    /// Checks a requested output dimensionality (`0` or none: the full dimension); `field`
    /// is the path named in the error (`EmbedContentRequest.output_dimensionality`,
    /// `dimensions`).
    pub fn output_dimension(&self, requested: Option<i64>, field: &str) -> Result<usize, WireError> {
        let full = self.dimension();
        let name = field.rsplit('.').next().unwrap_or(field);
        match requested.filter(|n| *n > 0) {
            None => Ok(full),
            Some(n) if n as u64 <= full as u64 => Ok(n as usize),
            Some(n) => Err(WireError::Semantic(vec![semantic(
                field,
                &format!(
                    "{name} must be at most {full} for models/{}: its embedder on this server ({}) makes {full}-dimensional vectors; got {n}.",
                    self.spec.id,
                    self.embedder.name()
                ),
            )])),
        }
    }

    /// Tokens of each text (special markers included, before truncation), in memory bounded
    /// by a piece of text, however long the text.
    pub async fn count_tokens(&self, texts: Vec<String>) -> Result<Vec<usize>, ApiError> {
        let embedder = self.embedder.clone();
        blocking(move || texts.iter().map(|t| embedder.count_tokens(t)).collect()).await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Engine(EngineError::Internal(format!("embedding task: {e}"))))?
        .map_err(ApiError::from)
}
