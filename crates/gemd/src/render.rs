//! `gemd render`: the prompt a Gemini `generateContent` request feeds the model, as text or
//! as a token count, without serving and without loading the weights. The request goes
//! through the server's own conversion (`gemd_server::gemini::model_prompt`, which
//! `generateContent` and `countTokens` take too) to the catalog entry of `--id` on a backend
//! whose model is read vocabulary-only (`VocabOnlyEngine`: the serving engine's chat format
//! and tokeniser), so the text is what the template renders and the count is what
//! `countTokens` answers. The model and chat template are named as `serve --model` and
//! `--chat-template` name them; a configuration file's backends are not read.
//!
//! The text is the template's rendering; the count also holds a BOS token the vocabulary
//! adds where the template does not write one (none for ChatML models such as the default).
//! The bench sizes its prompts with it (bench/gemdbench/prompts.py).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use gemd_engine::chat::flatten;
use gemd_engine::llama::{LlamaConfig, VocabOnlyEngine};
use gemd_engine::Engine;
use gemd_server::{Catalog, DEFAULT_BACKEND};

use crate::chat_template::{ChatTemplate, TemplateError};
use crate::model_ref::ModelRef;

/// The id requests are rendered for when `--id` is not given: the one the bench and the
/// README's examples call.
const DEFAULT_ID: &str = "gemini-2.5-flash";

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A `GenerateContentRequest` JSON file (default: read it from stdin).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// The model: a known model's name or a GGUF file, as for `serve --model` (default:
    /// qwen2.5-coder-0.5b-instruct, fetched if missing).
    #[arg(long, env = "GEMD_MODEL")]
    pub model: Option<ModelRef>,
    /// The chat template instead of the GGUF's own, as for `serve --chat-template`.
    #[arg(long, env = "GEMD_CHAT_TEMPLATE")]
    pub chat_template: Option<ChatTemplate>,
    /// The public model id the request is for (its checks apply, e.g. Gemma ids refuse a
    /// system instruction).
    #[arg(long, default_value = DEFAULT_ID)]
    pub id: String,
    /// Print the prompt's token count instead of its text.
    #[arg(long)]
    pub count_tokens: bool,
    /// Print `{"text": …, "tokens": N}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("reading the request from {from}: {source}")]
    Read { from: String, source: std::io::Error },
    #[error("locating the model: {0:#}")]
    Model(anyhow::Error),
    #[error("--chat-template: {0}")]
    ChatTemplate(#[from] TemplateError),
    #[error("loading the vocabulary: {0}")]
    Load(gemd_engine::EngineError),
    #[error(transparent)]
    Catalog(#[from] gemd_server::CatalogError),
    #[error("no generative model id \"{0}\" in the built-in catalog (see `gemd models`)")]
    UnknownId(String),
    /// Refused as `generateContent` would refuse it (the message is the API's).
    #[error("the request is refused: {0}")]
    Request(#[from] gemd_server::ApiError),
    #[error("the chat template refused the request: {0}")]
    Template(#[from] gemd_engine::chat::TemplateError),
    #[error("tokenising the prompt: {0}")]
    Tokenize(gemd_engine::EngineError),
    #[error("writing the output: {0}")]
    Write(#[from] std::io::Error),
}

/// What `gemd render` prints.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub text: String,
    pub tokens: usize,
}

pub fn run(args: RenderArgs, home: &Path) -> Result<(), RenderError> {
    let request = read_request(args.request.as_deref())?;
    let engine = load_engine(args.model.unwrap_or_else(ModelRef::default_model), args.chat_template, home)?;
    let rendered = render(&request, engine, &args.id)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::to_string(&rendered).expect("a string and a number serialise");
        writeln!(out, "{json}")?;
    } else if args.count_tokens {
        writeln!(out, "{}", rendered.tokens)?;
    } else {
        // As rendered: the template decides whether the prompt ends with a newline.
        out.write_all(rendered.text.as_bytes())?;
    }
    Ok(out.flush()?)
}

fn read_request(path: Option<&Path>) -> Result<Vec<u8>, RenderError> {
    match path {
        Some(p) => std::fs::read(p).map_err(|source| RenderError::Read { from: p.display().to_string(), source }),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| RenderError::Read { from: "stdin".into(), source })?;
            Ok(bytes)
        }
    }
}

/// The default backend as `serve` builds it from `--model` and `--chat-template`, its
/// vocabulary only.
fn load_engine(model: ModelRef, template: Option<ChatTemplate>, home: &Path) -> Result<Arc<dyn Engine>, RenderError> {
    let mut config = LlamaConfig::new(model.resolve(home).map_err(RenderError::Model)?);
    // The flag's relative path is taken from the working directory, as serve takes it.
    config.chat_template = template.map(|t| t.resolved(Path::new(""))).transpose()?.map(|t| t.config_value());
    let started = std::time::Instant::now();
    let engine = VocabOnlyEngine::load(&config).map_err(RenderError::Load)?;
    let ms = started.elapsed().as_millis() as u64;
    tracing::debug!(ms, model = %config.model_path.display(), "vocabulary loaded");
    Ok(Arc::new(engine))
}

/// `request` (a `GenerateContentRequest` body) for the built-in catalog's `id`, served by
/// `engine`: parsed, converted and checked by the server, rendered and tokenised by the engine.
pub fn render(request: &[u8], engine: Arc<dyn Engine>, id: &str) -> Result<Rendered, RenderError> {
    let backends = BTreeMap::from([(DEFAULT_BACKEND.to_string(), engine)]);
    let catalog = Catalog::new(gemd_server::builtin_models(), &backends)?;
    let served = catalog.get(id).ok_or_else(|| RenderError::UnknownId(id.to_string()))?;
    let req = gemd_wire::parse::parse_generate(request).map_err(gemd_server::ApiError::from)?;
    let chat = gemd_server::gemini::model_prompt(&req, served)?;
    let text = flatten(&served.engine.chat_format().render(&chat)?);
    let tokens = served.engine.prepare(&chat).map_err(RenderError::Tokenize)?.len();
    Ok(Rendered { text, tokens })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_engine::{BackendInfo, ChatFormat, ChatPrompt, EngineError, EventStream, PreparedPrompt, SamplingParams};

    /// gemd's ChatML template, one "token" per byte of the rendering: the glue is under test
    /// here, not the tokeniser (tests/python/test_render.py runs the real model).
    struct ChatmlBytes {
        info: BackendInfo,
        format: ChatFormat,
    }

    impl Engine for ChatmlBytes {
        fn info(&self) -> &BackendInfo {
            &self.info
        }
        fn chat_format(&self) -> &ChatFormat {
            &self.format
        }
        fn prepare(&self, prompt: &ChatPrompt) -> Result<PreparedPrompt, EngineError> {
            let text = flatten(&self.format.render(prompt).map_err(|e| EngineError::InvalidPrompt(e.to_string()))?);
            Ok(PreparedPrompt { tokens: text.bytes().map(i32::from).collect() })
        }
        fn generate(&self, _: PreparedPrompt, _: SamplingParams) -> Result<EventStream, EngineError> {
            unreachable!("render never generates")
        }
    }

    fn engine() -> Arc<dyn Engine> {
        let info = BackendInfo { name: "test:chatml".into(), context_per_sequence: 4096, accepts_images: false };
        Arc::new(ChatmlBytes { info, format: ChatFormat::builtin("chatml", "", "").unwrap() })
    }

    #[test]
    fn a_user_turn_is_rendered_inside_the_templates_turn_markers() {
        let r = render(br#"{"contents":[{"parts":[{"text":"Hello there"}]}]}"#, engine(), DEFAULT_ID).unwrap();
        assert!(r.text.contains("<|im_start|>user\nHello there<|im_end|>"), "{}", r.text);
        assert!(r.text.ends_with("<|im_start|>assistant\n"), "{}", r.text);
        assert_eq!(r.tokens, r.text.len());
    }

    #[test]
    fn declared_functions_are_part_of_the_prompt_as_count_tokens_counts_them() {
        let body = br#"{"contents":[{"parts":[{"text":"Weather?"}]}],
            "tools":[{"functionDeclarations":[
                {"name":"get_weather","description":"Current weather."}]}]}"#;
        let r = render(body, engine(), DEFAULT_ID).unwrap();
        assert!(r.text.contains("get_weather") && r.text.contains("Current weather."), "{}", r.text);
    }

    #[test]
    fn requests_are_refused_where_the_server_refuses_them() {
        let e = render(b"{\"contents\": 7}", engine(), DEFAULT_ID).unwrap_err();
        assert!(matches!(e, RenderError::Request(_)), "{e}");
        // Gemma ids take no system instruction on the real service, nor here.
        let body = br#"{"systemInstruction":{"parts":[{"text":"Be terse."}]},
            "contents":[{"parts":[{"text":"Hi"}]}]}"#;
        assert!(render(body, engine(), DEFAULT_ID).unwrap().text.contains("Be terse."));
        let e = render(body, engine(), "gemma-3-27b-it").unwrap_err();
        assert!(e.to_string().contains("Developer instruction is not enabled"), "{e}");
        let e = render(body, engine(), "gpt-5").unwrap_err();
        assert!(matches!(e, RenderError::UnknownId(ref id) if id == "gpt-5"), "{e}");
    }

    #[test]
    fn the_request_comes_from_a_file_or_fails_with_its_path() {
        let dir = std::env::temp_dir().join(format!("gemd-render-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("req.json");
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(read_request(Some(&file)).unwrap(), b"{}");
        let missing = dir.join("missing.json");
        let e = read_request(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("missing.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
