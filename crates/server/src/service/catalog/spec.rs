//! One public model id, generative or embedding: what it advertises, which backend serves it,
//! and how `models.list` / `models.get` show it ([`ModelSpec::to_wire`], the one conversion for
//! both kinds). The built-in entries are the service guide's model tables.

use gemd_wire::gemini::Model;

/// The backend every built-in generative id maps to: the embedded default model.
pub const DEFAULT_BACKEND: &str = "default";

/// The embedder every built-in embedding id maps to: the embedded all-MiniLM-L6-v2.
pub const DEFAULT_EMBEDDER: &str = "default";

/// Methods a generative model supports (`streamGenerateContent` is implied, never listed).
pub const METHODS: &[&str] = &["generateContent", "countTokens"];

/// Methods an embedding model supports, as `models.get` lists them.
pub const EMBEDDING_METHODS: &[&str] = &["embedContent", "countTokens"];

/// One public model id.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    /// Other spellings accepted in paths (e.g. the guide's `gemma-3-27b-instruct`).
    pub aliases: Vec<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub version: String,
    /// The real service's limit; listings report the smaller of this and the backend's.
    pub input_token_limit: u32,
    /// The backend this id is served by: an engine's or upstream's name for a generative id,
    /// an embedder's for an embedding one.
    pub backend: String,
    /// Backends tried in order after `backend` when it cannot answer (`backends = [...]` in
    /// the configuration, `backend` being its first).
    pub fallbacks: Vec<String>,
    pub kind: ModelKind,
}

/// What an id does, with what only that kind has.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelKind {
    Generative(GenerativeSpec),
    Embedding,
}

/// What a generative id advertises and allows beyond what every id has.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerativeSpec {
    /// The real service's output limit; listings report the smaller of this and the backend's.
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
    /// The fewest tokens a `cachedContents` entry for this id may hold (Google's caching
    /// docs: 1,024 for Flash models, 4,096 for Pro; UNCONFIRMED for Gemma, which gemd gives
    /// Flash's figure).
    pub min_cache_tokens: u32,
}

/// What the backend serving an id adds to its listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedBy {
    /// A sentence saying which model really answers (what answers is not Gemini).
    pub sentence: String,
    pub input_token_limit: u32,
    pub output_token_limit: u32,
}

impl ModelSpec {
    pub fn generative(&self) -> Option<&GenerativeSpec> {
        match &self.kind {
            ModelKind::Generative(g) => Some(g),
            ModelKind::Embedding => None,
        }
    }

    pub fn generative_mut(&mut self) -> Option<&mut GenerativeSpec> {
        match &mut self.kind {
            ModelKind::Generative(g) => Some(g),
            ModelKind::Embedding => None,
        }
    }

    /// Whether `name` (`models/x` or `x`) is this id or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        let id = name.strip_prefix("models/").unwrap_or(name);
        id == self.id || self.aliases.iter().any(|a| a == id)
    }

    /// The id as `models.get` shows it, served as `served_by` says.
    pub fn to_wire(&self, served_by: &ServedBy) -> Model {
        let generative = self.generative();
        Model {
            name: format!("models/{}", self.id),
            base_model_id: self.id.clone(),
            version: self.version.clone(),
            display_name: self.display_name.clone(),
            description: Some(match &self.description {
                Some(d) => format!("{d} {}", served_by.sentence),
                None => served_by.sentence.clone(),
            }),
            input_token_limit: served_by.input_token_limit,
            output_token_limit: served_by.output_token_limit,
            supported_generation_methods: match generative {
                Some(_) => METHODS,
                None => EMBEDDING_METHODS,
            }
            .iter()
            .map(|m| m.to_string())
            .collect(),
            temperature: generative.map(|g| g.temperature),
            max_temperature: generative.map(|g| g.max_temperature),
            top_p: generative.map(|g| g.top_p),
            top_k: generative.map(|g| g.top_k),
            thinking: generative.is_some_and(|g| g.thinking),
        }
    }

    fn gemini(id: &str, display: &str, description: &str, input: u32, output: u32) -> Self {
        let thinking = id.starts_with("gemini-2.5") || id.starts_with("gemini-3");
        ModelSpec {
            id: id.into(),
            aliases: Vec::new(),
            display_name: display.into(),
            description: Some(description.into()),
            version: "001".into(),
            input_token_limit: input,
            backend: DEFAULT_BACKEND.into(),
            fallbacks: Vec::new(),
            kind: ModelKind::Generative(GenerativeSpec {
                min_cache_tokens: if id.contains("-pro") { 4096 } else { 1024 },
                ..GenerativeSpec::builtin(output, thinking, true)
            }),
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
            backend: DEFAULT_BACKEND.into(),
            fallbacks: Vec::new(),
            kind: ModelKind::Generative(GenerativeSpec::builtin(8192, false, false)),
        }
    }

    fn embedding(id: &str, display: &str, version: &str) -> Self {
        ModelSpec {
            id: id.into(),
            aliases: Vec::new(),
            display_name: display.into(),
            description: Some("Obtain a distributed representation of a text.".into()),
            version: version.into(),
            input_token_limit: 2048,
            backend: DEFAULT_EMBEDDER.into(),
            fallbacks: Vec::new(),
            kind: ModelKind::Embedding,
        }
    }
}

impl GenerativeSpec {
    /// The sampling defaults every model of the guide's table shares.
    fn builtin(output: u32, thinking: bool, system_instruction: bool) -> Self {
        GenerativeSpec {
            output_token_limit: output,
            accepted_output_tokens: output,
            temperature: 1.0,
            max_temperature: 2.0,
            top_p: 0.95,
            top_k: 64,
            thinking,
            system_instruction,
            min_cache_tokens: 1024,
        }
    }
}

const M: u32 = 1_048_576;
const K8: u32 = 8_192;

/// The service guide's model table (context and output lengths from its "上下文长度" table).
pub fn builtin_models() -> Vec<ModelSpec> {
    let mut flash_latest =
        ModelSpec::gemini("gemini-flash-latest", "Gemini Flash Latest", "Latest release of Gemini Flash", M, 65_536);
    flash_latest.version = "Gemini Flash Latest".into();
    vec![
        ModelSpec::gemini(
            "gemini-3-flash-preview",
            "Gemini 3 Flash Preview",
            "Gemini 3 Flash: frontier intelligence built for speed.",
            M,
            65_536,
        ),
        ModelSpec::gemini(
            "gemini-3-pro-preview",
            "Gemini 3 Pro Preview",
            "Gemini 3 Pro: the most capable Gemini model (paid tier).",
            M,
            65_536,
        ),
        ModelSpec::gemini(
            "gemini-2.5-flash",
            "Gemini 2.5 Flash",
            "Stable version of Gemini 2.5 Flash, a hybrid reasoning model.",
            M,
            K8,
        ),
        ModelSpec::gemini(
            "gemini-2.5-pro",
            "Gemini 2.5 Pro",
            "Stable release of Gemini 2.5 Pro, an advanced multipurpose model.",
            2 * M,
            K8,
        ),
        ModelSpec::gemini(
            "gemini-2.5-flash-lite",
            "Gemini 2.5 Flash-Lite",
            "Stable version of Gemini 2.5 Flash-Lite, light and efficient.",
            M,
            K8,
        ),
        ModelSpec::gemini(
            "gemini-2.0-flash",
            "Gemini 2.0 Flash",
            "Gemini 2.0 Flash: a balanced multimodal model.",
            M,
            K8,
        ),
        ModelSpec::gemini(
            "gemini-2.0-flash-lite",
            "Gemini 2.0 Flash-Lite",
            "Gemini 2.0 Flash-Lite: small and efficient.",
            M,
            K8,
        ),
        flash_latest,
        ModelSpec::gemma("27b", 131_072),
        ModelSpec::gemma("12b", 131_072),
        ModelSpec::gemma("4b", 131_072),
    ]
}

/// The service guide's embedding models.
pub fn builtin_embedding_models() -> Vec<ModelSpec> {
    vec![
        ModelSpec::embedding("gemini-embedding-001", "Gemini Embedding 001", "001"),
        ModelSpec::embedding("text-embedding-004", "Text Embedding 004", "004"),
    ]
}
