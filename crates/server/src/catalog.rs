//! The model catalog: the public model ids gemd answers to, what each one advertises, and
//! which backend serves it. The built-in default is the service guide's model table, every
//! generative id mapped to the embedded local model and every embedding id (see
//! [`crate::embedding`]) to the embedded embedder; configuration can add, remove and remap
//! entries. Generative and embedding ids share one namespace.

use std::collections::BTreeMap;
use std::sync::Arc;

use gemd_engine::{Embedder, Engine};
use gemd_wire::gemini::Model;

use crate::embedding::{EmbeddingServed, EmbeddingSpec};
use crate::error::ApiError;

/// One public model id.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    /// Other spellings accepted in paths (e.g. the guide's `gemma-3-27b-instruct`).
    pub aliases: Vec<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub version: String,
    /// Limits of the real service; the catalog reports the smaller of these and the backend's.
    pub input_token_limit: u32,
    pub output_token_limit: u32,
    /// The largest `maxOutputTokens` a request may ask for: the real service's limit for this
    /// id, even where the configuration lowers `output_token_limit` (requests between the two
    /// are lowered, not refused, so clients sending Google's documented values keep working).
    pub accepted_output_tokens: u32,
    pub temperature: f32,
    pub max_temperature: f32,
    pub top_p: f32,
    pub top_k: u32,
    pub thinking: bool,
    /// Whether `systemInstruction` is allowed (the real service refuses it for Gemma models).
    pub system_instruction: bool,
    /// The backend name this id is served by.
    pub backend: String,
}

impl ModelSpec {
    fn gemini(id: &str, display: &str, description: &str, input: u32, output: u32) -> Self {
        ModelSpec {
            id: id.into(),
            aliases: Vec::new(),
            display_name: display.into(),
            description: Some(description.into()),
            version: "001".into(),
            input_token_limit: input,
            output_token_limit: output,
            accepted_output_tokens: output,
            temperature: 1.0,
            max_temperature: 2.0,
            top_p: 0.95,
            top_k: 64,
            thinking: id.starts_with("gemini-2.5") || id.starts_with("gemini-3"),
            system_instruction: true,
            backend: DEFAULT_BACKEND.into(),
        }
    }

    fn gemma(size: &str, input: u32) -> Self {
        ModelSpec {
            id: format!("gemma-3-{size}-it"),
            aliases: vec![format!("gemma-3-{size}-instruct")],
            display_name: format!("Gemma 3 {}", size.to_uppercase()),
            description: None,
            version: "001".into(),
            input_token_limit: input,
            output_token_limit: 8192,
            accepted_output_tokens: 8192,
            temperature: 1.0,
            max_temperature: 2.0,
            top_p: 0.95,
            top_k: 64,
            thinking: false,
            system_instruction: false,
            backend: DEFAULT_BACKEND.into(),
        }
    }
}

/// The backend every built-in id maps to: the embedded default model.
pub const DEFAULT_BACKEND: &str = "default";

const M: u32 = 1_048_576;
const K8: u32 = 8_192;

/// The service guide's model table (context and output lengths from its "上下文长度" table).
pub fn builtin_models() -> Vec<ModelSpec> {
    let mut flash_latest = ModelSpec::gemini("gemini-flash-latest", "Gemini Flash Latest", "Latest release of Gemini Flash", M, 65_536);
    flash_latest.version = "Gemini Flash Latest".into();
    vec![
        ModelSpec::gemini("gemini-3-flash-preview", "Gemini 3 Flash Preview", "Gemini 3 Flash: frontier intelligence built for speed.", M, 65_536),
        ModelSpec::gemini("gemini-3-pro-preview", "Gemini 3 Pro Preview", "Gemini 3 Pro: the most capable Gemini model (paid tier).", M, 65_536),
        ModelSpec::gemini("gemini-2.5-flash", "Gemini 2.5 Flash", "Stable version of Gemini 2.5 Flash, a hybrid reasoning model.", M, K8),
        ModelSpec::gemini("gemini-2.5-pro", "Gemini 2.5 Pro", "Stable release of Gemini 2.5 Pro, an advanced multipurpose model.", 2 * M, K8),
        ModelSpec::gemini("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", "Stable version of Gemini 2.5 Flash-Lite, light and efficient.", M, K8),
        ModelSpec::gemini("gemini-2.0-flash", "Gemini 2.0 Flash", "Gemini 2.0 Flash: a balanced multimodal model.", M, K8),
        ModelSpec::gemini("gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite", "Gemini 2.0 Flash-Lite: small and efficient.", M, K8),
        flash_latest,
        ModelSpec::gemma("27b", 131_072),
        ModelSpec::gemma("12b", 131_072),
        ModelSpec::gemma("4b", 131_072),
    ]
}

/// A catalog entry bound to its running backend.
#[derive(Clone)]
pub struct Served {
    pub spec: Arc<ModelSpec>,
    pub engine: Arc<dyn Engine>,
}

impl Served {
    /// The prompt tokens this id accepts: the real limit, but never more than the backend
    /// holds (one token of the sequence is left for the answer).
    pub fn input_token_limit(&self) -> u32 {
        self.spec.input_token_limit.min(self.engine.info().context_per_sequence.saturating_sub(1))
    }

    pub fn output_token_limit(&self) -> u32 {
        self.spec.output_token_limit.min(self.engine.info().context_per_sequence)
    }

    /// Refuses a system instruction for ids that have none (the real service's wording).
    pub fn check_system_instruction(&self, field: &str) -> Result<(), ApiError> {
        if self.spec.system_instruction {
            Ok(())
        } else {
            Err(ApiError::invalid(format!("Developer instruction is not enabled for models/{}", self.spec.id), Some(field.to_string())))
        }
    }

    /// The refusal of an input of type `mime` (image, audio, …) the text-only backend cannot see.
    pub fn refuse_media(&self, mime: &str, field: String) -> ApiError {
        let what = if mime.starts_with("image/") { "image" } else { "media" };
        ApiError::invalid(
            format!(
                "Unable to process input {what} ({mime}): models/{} is served by the text-only backend {} on this server.",
                self.spec.id,
                self.engine.info().name
            ),
            Some(field),
        )
    }

    pub fn to_wire(&self) -> Model {
        let s = &self.spec;
        // What answers is not Gemini: the description says which model does, honestly.
        let info = self.engine.info();
        let served_by = format!("Served on this server by {} (up to {} tokens of context).", info.name, info.context_per_sequence);
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
            output_token_limit: self.output_token_limit(),
            supported_generation_methods: METHODS.iter().map(|m| m.to_string()).collect(),
            temperature: Some(s.temperature),
            max_temperature: Some(s.max_temperature),
            top_p: Some(s.top_p),
            top_k: Some(s.top_k),
            thinking: s.thinking,
        }
    }
}

/// Methods a generative model supports (`streamGenerateContent` is implied, never listed).
pub const METHODS: &[&str] = &["generateContent", "countTokens"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("model {model} names backend \"{backend}\", which is not configured")]
    UnknownBackend { model: String, backend: String },
    #[error("model id \"{0}\" is defined twice")]
    Duplicate(String),
}

/// What an id or alias names: a generative model or an embedding model (by position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Generative(usize),
    Embedding(usize),
}

/// Every served id, in listing order, with an index of ids and aliases.
#[derive(Clone, Default)]
pub struct Catalog {
    models: Vec<Served>,
    embeddings: Vec<EmbeddingServed>,
    index: BTreeMap<String, Entry>,
}

fn bind<B: ?Sized>(backends: &BTreeMap<String, Arc<B>>, model: &str, backend: &str) -> Result<Arc<B>, CatalogError> {
    backends.get(backend).cloned().ok_or_else(|| CatalogError::UnknownBackend { model: model.into(), backend: backend.into() })
}

impl Catalog {
    pub fn new(specs: Vec<ModelSpec>, backends: &BTreeMap<String, Arc<dyn Engine>>) -> Result<Self, CatalogError> {
        let mut catalog = Catalog::default();
        for spec in specs {
            let engine = bind(backends, &spec.id, &spec.backend)?;
            catalog.register(&spec.id, &spec.aliases, Entry::Generative(catalog.models.len()))?;
            catalog.models.push(Served { spec: Arc::new(spec), engine });
        }
        Ok(catalog)
    }

    /// This catalog with embedding ids added, each bound to one of `embedders`.
    pub fn with_embeddings(mut self, specs: Vec<EmbeddingSpec>, embedders: &BTreeMap<String, Arc<dyn Embedder>>) -> Result<Self, CatalogError> {
        for spec in specs {
            let embedder = bind(embedders, &spec.id, &spec.backend)?;
            self.register(&spec.id, &spec.aliases, Entry::Embedding(self.embeddings.len()))?;
            self.embeddings.push(EmbeddingServed { spec: Arc::new(spec), embedder });
        }
        Ok(self)
    }

    fn register(&mut self, id: &String, aliases: &[String], entry: Entry) -> Result<(), CatalogError> {
        for name in std::iter::once(id).chain(aliases) {
            if self.index.insert(name.clone(), entry).is_some() {
                return Err(CatalogError::Duplicate(name.clone()));
            }
        }
        Ok(())
    }

    fn entry(&self, name: &str) -> Option<Entry> {
        self.index.get(name.strip_prefix("models/").unwrap_or(name)).copied()
    }

    /// Looks up a generative model by `models/{id}` or a bare id (or alias).
    pub fn get(&self, name: &str) -> Option<&Served> {
        match self.entry(name)? {
            Entry::Generative(i) => Some(&self.models[i]),
            Entry::Embedding(_) => None,
        }
    }

    /// Looks up an embedding model by `models/{id}` or a bare id (or alias).
    pub fn embedding(&self, name: &str) -> Option<&EmbeddingServed> {
        match self.entry(name)? {
            Entry::Embedding(i) => Some(&self.embeddings[i]),
            Entry::Generative(_) => None,
        }
    }

    /// The generative models, in listing order.
    pub fn models(&self) -> &[Served] {
        &self.models
    }

    pub fn embeddings(&self) -> &[EmbeddingServed] {
        &self.embeddings
    }

    /// Every model as `models.list` shows it: generative ones, then embedding ones.
    pub fn wire_models(&self) -> Vec<Model> {
        self.models.iter().map(Served::to_wire).chain(self.embeddings.iter().map(EmbeddingServed::to_wire)).collect()
    }

    /// One model (generative or embedding) as `models.get` shows it.
    pub fn wire_model(&self, name: &str) -> Option<Model> {
        Some(match self.entry(name)? {
            Entry::Generative(i) => self.models[i].to_wire(),
            Entry::Embedding(i) => self.embeddings[i].to_wire(),
        })
    }
}
