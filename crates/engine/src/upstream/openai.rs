//! An OpenAI-compatible upstream (vLLM, text-generation-inference, SGLang, llama-server,
//! Ollama, llama-cpp-python, or gemd's own OpenAI layer): `POST {base_url}/chat/completions`
//! and `POST {base_url}/embeddings` with `Authorization: Bearer KEY`. `base_url` includes
//! the API's version prefix (`http://host:8000/v1`), as every OpenAI client's does. The
//! bodies are built and read by the caller, which owns the translation from and to the
//! Gemini API; retries, key pool and failure reports are [`Transport`]'s.

use bytes::Bytes;

use super::reply::UpstreamReply;
use super::transport::{KeyHeader, Transport};
use super::{UpstreamConfig, UpstreamError};

pub struct OpenAiUpstream {
    transport: Transport,
}

impl OpenAiUpstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        Ok(OpenAiUpstream { transport: Transport::new(config, KeyHeader::Bearer)? })
    }

    /// Its name, URL, keys and model name.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A chat-completions body (whole or `stream: true`, as the body says).
    pub async fn chat(&self, body: Bytes) -> Result<UpstreamReply, UpstreamError> {
        self.transport.post(&self.transport.url("chat/completions"), body).await
    }

    /// An embeddings body.
    pub async fn embeddings(&self, body: Bytes) -> Result<UpstreamReply, UpstreamError> {
        self.transport.post(&self.transport.url("embeddings"), body).await
    }
}
