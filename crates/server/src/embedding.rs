//! Embedding models for any API surface: the catalog entries of embedding ids (the service
//! guide's `gemini-embedding-001` and `text-embedding-004`, each mapped by configuration to an
//! [`Embedder`]), what `models.get` says about them, and running an embedder off the async
//! workers. The native (`gemini::embed`) and OpenAI surfaces differ only in request and answer
//! shapes.

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use gemd_engine::{Embedder, EngineError};
use gemd_wire::gemini::Model;
use gemd_wire::parse::{semantic, WireError};

use crate::access::{Access, Caller};
use crate::error::ApiError;

/// The embedder every built-in embedding id maps to: the embedded all-MiniLM-L6-v2.
pub const DEFAULT_EMBEDDER: &str = "default";

/// Methods an embedding model supports, as `models.get` lists them.
pub const EMBEDDING_METHODS: &[&str] = &["embedContent", "countTokens"];

/// One public embedding-model id.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingSpec {
    pub id: String,
    pub aliases: Vec<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub version: String,
    /// The real service's limit; the catalog reports the smaller of this and the embedder's.
    pub input_token_limit: u32,
    /// The embedder name this id is served by.
    pub backend: String,
}

impl EmbeddingSpec {
    fn builtin(id: &str, display: &str, version: &str) -> Self {
        EmbeddingSpec {
            id: id.into(),
            aliases: Vec::new(),
            display_name: display.into(),
            description: Some("Obtain a distributed representation of a text.".into()),
            version: version.into(),
            input_token_limit: 2048,
            backend: DEFAULT_EMBEDDER.into(),
        }
    }
}

/// The service guide's embedding models.
pub fn builtin_embedding_models() -> Vec<EmbeddingSpec> {
    vec![
        EmbeddingSpec::builtin("gemini-embedding-001", "Gemini Embedding 001", "001"),
        EmbeddingSpec::builtin("text-embedding-004", "Text Embedding 004", "004"),
    ]
}

/// An embedding id bound to its running embedder.
#[derive(Clone)]
pub struct EmbeddingServed {
    pub spec: Arc<EmbeddingSpec>,
    pub embedder: Arc<dyn Embedder>,
}

impl EmbeddingServed {
    /// Tokens of one input that reach the model; longer inputs are truncated to this.
    pub fn input_token_limit(&self) -> u32 {
        self.spec.input_token_limit.min(self.embedder.max_tokens() as u32)
    }

    pub fn dimension(&self) -> usize {
        self.embedder.dimension()
    }

    pub fn to_wire(&self) -> Model {
        let s = &self.spec;
        // The Model message has no dimension field; the description says it, honestly.
        let served_by = format!(
            "Served on this server by {}: {}-dimensional vectors; inputs over {} tokens are truncated.",
            self.embedder.name(),
            self.dimension(),
            self.input_token_limit()
        );
        Model {
            name: format!("models/{}", s.id),
            base_model_id: s.id.clone(),
            version: s.version.clone(),
            display_name: s.display_name.clone(),
            description: Some(match &s.description {
                Some(d) => format!("{d} {served_by}"),
                None => served_by,
            }),
            input_token_limit: self.input_token_limit(),
            output_token_limit: 1,
            supported_generation_methods: EMBEDDING_METHODS.iter().map(|m| m.to_string()).collect(),
            temperature: None,
            max_temperature: None,
            top_p: None,
            top_k: None,
            thinking: false,
        }
    }

    /// Unit vectors of the model's full dimension for `texts`, in order (one engine call, so
    /// the engine batches them), after admitting the request against `caller`'s quota for
    /// this model. Every surface's embedding requests pass here, so all are counted alike.
    /// Runs on a blocking thread: a forward pass is real CPU work. Also returns the input
    /// tokens counted (each text's, capped at the model's limit, as it is truncated).
    pub async fn embed(&self, access: &Arc<Access>, caller: &Caller, texts: Vec<String>) -> Result<(Vec<Vec<f32>>, u32), ApiError> {
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
                Ok((vectors, tokens as u32))
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

    /// Sets the `x-gemd-backend` header to the embedder's name.
    pub fn tag(&self, mut resp: Response) -> Response {
        if let Ok(v) = HeaderValue::from_str(self.embedder.name()) {
            resp.headers_mut().insert(HeaderName::from_static("x-gemd-backend"), v);
        }
        resp
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, EngineError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Engine(EngineError::Internal(format!("embedding task: {e}"))))?.map_err(ApiError::from)
}
