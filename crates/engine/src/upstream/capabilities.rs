//! What an upstream can take, configured per backend (`capabilities = ["text", "images"]`), so
//! a request it cannot serve is refused by gemd with the same 400 a local model gives, instead
//! of being sent and failing there in the upstream's words. Defaults by kind: a Gemini upstream
//! (Google, another gemd) takes what the Gemini API takes; an OpenAI-compatible server is
//! assumed to be a text model with tools and JSON output, because that is what every engine
//! of that kind serves; images, audio and embeddings are listed when the model has them.
//! `top_k` is listed for servers that read that non-standard field (vLLM, SGLang, TGI,
//! llama.cpp's server, llama-cpp-python, Ollama); OpenAI itself, Google's OpenAI layer and
//! gemd's refuse it, so by default a request's `topK` is not sent to an OpenAI upstream.

use serde::Deserialize;

/// One thing a backend can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Text,
    Images,
    Audio,
    Tools,
    JsonSchema,
    Embeddings,
    TopK,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub text: bool,
    pub images: bool,
    pub audio: bool,
    pub tools: bool,
    pub json_schema: bool,
    pub embeddings: bool,
    pub top_k: bool,
}

/// The protocols an upstream can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    Gemini,
    OpenAi,
}

impl Capabilities {
    pub fn of_kind(kind: UpstreamProtocol) -> Self {
        let gemini = kind == UpstreamProtocol::Gemini;
        Capabilities {
            text: true,
            images: gemini,
            audio: gemini,
            tools: true,
            json_schema: true,
            embeddings: gemini,
            top_k: gemini,
        }
    }

    /// Exactly the listed ones.
    pub fn listed(list: &[Capability]) -> Self {
        let has = |c| list.contains(&c);
        Capabilities {
            text: has(Capability::Text),
            images: has(Capability::Images),
            audio: has(Capability::Audio),
            tools: has(Capability::Tools),
            json_schema: has(Capability::JsonSchema),
            embeddings: has(Capability::Embeddings),
            top_k: has(Capability::TopK),
        }
    }

    /// Whether a part of this media type can be sent.
    pub fn takes_media(&self, mime: &str) -> bool {
        if mime.starts_with("image/") {
            self.images
        } else if mime.starts_with("audio/") {
            self.audio
        } else {
            mime.starts_with("text/") && self.text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_by_kind_and_lists() {
        let openai = Capabilities::of_kind(UpstreamProtocol::OpenAi);
        assert!(openai.tools && openai.json_schema && !openai.images && !openai.embeddings);
        assert!(Capabilities::of_kind(UpstreamProtocol::Gemini).takes_media("audio/wav"));
        let listed = Capabilities::listed(&[Capability::Text, Capability::Images]);
        assert!(listed.takes_media("image/png") && !listed.takes_media("audio/mp3") && !listed.tools);
        assert!(!listed.takes_media("application/pdf"));
    }
}
