//! A Gemini-API upstream: Google itself or another gemd. A native request is sent as it
//! came, to the upstream's own model id, with one of the upstream's keys (`x-goog-api-key`);
//! the answer is the upstream's. Retries, key pool and failure reports are [`Transport`]'s.

use bytes::Bytes;

use super::reply::UpstreamReply;
use super::transport::{KeyHeader, Transport};
use super::{UpstreamConfig, UpstreamError};

/// The native methods an upstream is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeminiMethod {
    Generate,
    /// `streamGenerateContent?alt=sse`: the upstream always streams server-sent events, which
    /// gemd frames for the client (SSE or a JSON array).
    Stream,
    CountTokens,
    EmbedContent,
    BatchEmbedContents,
}

impl GeminiMethod {
    pub fn path_name(self) -> &'static str {
        match self {
            GeminiMethod::Generate => "generateContent",
            GeminiMethod::Stream => "streamGenerateContent",
            GeminiMethod::CountTokens => "countTokens",
            GeminiMethod::EmbedContent => "embedContent",
            GeminiMethod::BatchEmbedContents => "batchEmbedContents",
        }
    }
}

pub struct GeminiUpstream {
    transport: Transport,
}

impl GeminiUpstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        Ok(GeminiUpstream { transport: Transport::new(config, KeyHeader::GoogApiKey)? })
    }

    /// Its name, URL, keys and model name.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends `body` to `{base_url}/{version}/models/{upstream model}:{method}`.
    pub async fn call(
        &self,
        version: &str,
        model: &str,
        method: GeminiMethod,
        body: Bytes,
    ) -> Result<UpstreamReply, UpstreamError> {
        let mut path = format!("{version}/models/{}:{}", self.transport.upstream_model(model), method.path_name());
        if method == GeminiMethod::Stream {
            path.push_str("?alt=sse");
        }
        self.transport.post(&self.transport.url(&path), body).await
    }

    /// A chat-completions body sent to the upstream's OpenAI layer
    /// (`{base_url}/v1beta/openai/chat/completions`, which Google and gemd both serve), with
    /// the key as `Authorization: Bearer`, as that layer documents it: the OpenAI-shaped
    /// calls of an id served by a Gemini upstream.
    pub async fn openai_chat(&self, body: Bytes) -> Result<UpstreamReply, UpstreamError> {
        let url = self.transport.url("v1beta/openai/chat/completions");
        self.transport.post_as(KeyHeader::Bearer, &url, body).await
    }
}
