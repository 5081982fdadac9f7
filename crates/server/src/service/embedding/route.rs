//! An embedding id served by an ordered list of backends (`backends = ["a", "b"]` on an
//! `[[embedding_models]]` entry), upstreams among them, tried in order by
//! [`crate::service::routing`]. A local embedder answers as for a plain id (its own admission
//! on its own token count); an upstream hop is admitted on gemd's estimate of the inputs, and
//! the ledger takes the upstream's count when its answer has one.
//!
//! What is asked of each hop is the surface's: the native surface passes its request as it
//! came to a Gemini upstream, the OpenAI layer sends texts ([`Texts`]); both send texts to an
//! OpenAI-compatible upstream through [`embed_texts`].

use std::sync::Arc;

use gemd_engine::upstream::{Upstream, UpstreamError};
use serde_json::Value;

use gemd_wire::parse::WireError;

use super::{EmbedInput, Embedded, EmbeddingServed};
use crate::service::access::{Access, Caller, Ticket};
use crate::service::error::ApiError;
use crate::service::routing::{refund, HopCall};
use crate::service::translate::embeddings::{gemini_body, openai_body, read_gemini, read_openai};
use crate::service::translate::embeddings::{EmbedAsk, UpstreamVectors};
use crate::service::translate::error::{refusal_message, TranslateError};

/// Texts to embed, from any surface: the OpenAI layer's `embeddings`, and the native
/// surface's requests where a hop needs texts.
pub struct Texts(pub Vec<EmbedAsk>);

impl HopCall<EmbeddingServed> for Texts {
    type Answer = Embedded;

    async fn admit(&self, access: &Arc<Access>, caller: &Caller, id: &str) -> Result<Option<Ticket>, ApiError> {
        access.admit_embedding(caller, id, estimate(&self.0)).await.map(Some)
    }

    async fn local(
        &self,
        served: &EmbeddingServed,
        access: &Arc<Access>,
        caller: &Caller,
    ) -> Result<Result<Embedded, UpstreamError>, ApiError> {
        let inputs = self
            .0
            .iter()
            .map(|a| {
                let dimension = served.output_dimension(a.dimensionality, &a.dimensionality_field)?;
                Ok(EmbedInput { text: a.text.clone(), dimension })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        served.embed(access, caller, inputs).await.map(Ok)
    }

    async fn upstream(
        &self,
        upstream: &Upstream,
        id: &str,
        ticket: &mut Option<Ticket>,
    ) -> Result<Result<Embedded, UpstreamError>, ApiError> {
        let estimate = estimate(&self.0);
        Ok(embed_texts(upstream, id, &self.0, ticket).await?.map(|read| Embedded {
            tokens: read.tokens.unwrap_or(estimate.min(u32::MAX as u64) as u32),
            vectors: read.vectors,
        }))
    }
}

/// The estimated tokens of texts (gemd's chars/4, as for generation upstreams).
pub fn estimate(asks: &[EmbedAsk]) -> u64 {
    let texts: Vec<Value> = asks.iter().map(|a| Value::String(a.text.clone())).collect();
    crate::service::estimate::prompt_tokens(&Value::Array(texts))
}

/// Embeds `asks` on an upstream of either protocol: `batchEmbedContents` on a Gemini one,
/// `/embeddings` on an OpenAI-compatible one. A 4xx is the upstream's refusal, in Google's
/// envelope with its words; the ledger takes the upstream's token count where it gives one.
pub async fn embed_texts(
    upstream: &Upstream,
    id: &str,
    asks: &[EmbedAsk],
    ticket: &mut Option<Ticket>,
) -> Result<Result<UpstreamVectors, UpstreamError>, ApiError> {
    let model = upstream.transport().upstream_model(id);
    let sent = match upstream {
        Upstream::Gemini(g) => {
            let body = gemini_body(model, asks).to_string().into();
            g.call("v1beta", id, gemd_engine::upstream::GeminiMethod::BatchEmbedContents, body).await
        }
        Upstream::OpenAi(o) => o.embeddings(openai_body(model, asks).to_string().into()).await,
    };
    let reply = match sent {
        Ok(reply) => reply,
        Err(e) => return Ok(Err(e)),
    };
    let (backend, status) = (reply.backend().to_string(), reply.status);
    let body = reply.bytes().await.map_err(ApiError::UpstreamCut)?;
    if !(200..300).contains(&status) {
        refund(ticket.take());
        return Err(TranslateError::Refused { backend, status, message: refusal_message(&body) }.into());
    }
    let read = match upstream {
        Upstream::Gemini(_) => read_gemini(&body, asks, &backend)?,
        Upstream::OpenAi(_) => read_openai(&body, asks, &backend)?,
    };
    if let Some(mut t) = ticket.take() {
        if let Some(n) = read.tokens {
            t.set_prompt_tokens(n);
        }
        // In the ledger before the answer is sent.
        t.settle().await;
    }
    Ok(Ok(read))
}
