//! Native embedding calls (`embedContent`, `batchEmbedContents`, `countTokens`) of an
//! embedding id with a list of backends, or an upstream: the request is checked by the local
//! path's own readers (the same 400s), then tried on each backend in order by
//! [`crate::service::embedding::route`]. A Gemini upstream gets the request as it came, its
//! model names rewritten to the upstream's, and its answer goes back as it is; an
//! OpenAI-compatible one gets the texts on `/embeddings` and its vectors are written as the
//! native answer (countTokens there is gemd's estimate, as for generative ids); a local
//! embedder answers as for a plain id.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use gemd_engine::upstream::{GeminiMethod, Upstream, UpstreamError};
use gemd_wire::gemini::{BatchEmbedContentsResponse, ContentEmbedding, EmbedContentResponse};
use gemd_wire::parse::{parse_batch_embed_contents, parse_count_tokens, parse_embed_content, parse_json, WireError};
use serde_json::Value;

use super::{pass, rewrite_models, translated, Call};
use crate::gemini::embed::{self as local, ask, batch_models, TextOnly};
use crate::gemini::Gate;
use crate::http::backend_header::tag_backend;
use crate::http::json::json_response;
use crate::service::access::{Access, Caller, Ticket};
use crate::service::catalog::EmbeddingRoute;
use crate::service::embedding::route::embed_texts;
use crate::service::embedding::EmbeddingServed;
use crate::service::error::ApiError;
use crate::service::estimate;
use crate::service::routing::{serve, HopCall};
use crate::service::translate::embeddings::EmbedAsk;
use crate::service::version::ApiVersion;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Embed,
    Batch,
    CountTokens,
}

/// One native call, checked, and what each kind of hop needs of it.
struct Native {
    method: Method,
    version: ApiVersion,
    bytes: Bytes,
    json: Value,
    /// The texts an OpenAI-compatible hop embeds (`Err`: the refusal of a part it cannot take,
    /// given when such a hop is reached).
    asks: Result<Vec<EmbedAsk>, WireError>,
}

pub async fn handle(
    route: &EmbeddingRoute,
    version: ApiVersion,
    method: &str,
    bytes: Bytes,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    let spec = &route.spec;
    // Named in the refusal of a part no OpenAI-compatible server can embed.
    let backend = route.hops.iter().map(|h| h.name()).collect::<Vec<_>>().join(", ");
    let text_only = TextOnly { model: &spec.id, backend: &backend };
    let (method, asks) = match method {
        "embedContent" => {
            let req = parse_embed_content(&bytes)?;
            (Method::Embed, ask(&text_only, &req, "EmbedContentRequest.").map(|a| vec![a]))
        }
        "batchEmbedContents" => {
            let req = parse_batch_embed_contents(&bytes)?;
            let faults = batch_models(spec, &req);
            if !faults.is_empty() {
                return Err(WireError::Semantic(faults).into());
            }
            let asks = req
                .requests
                .iter()
                .enumerate()
                .map(|(i, r)| ask(&text_only, r, &format!("BatchEmbedContentsRequest.requests[{i}].")))
                .collect();
            (Method::Batch, asks)
        }
        _ => {
            drop(parse_count_tokens(&bytes)?);
            (Method::CountTokens, Ok(Vec::new()))
        }
    };
    let native = Native { method, version, json: parse_json(&bytes)?, bytes, asks };
    let (resp, backend) = serve(route, gate.access, gate.caller, &native).await?;
    Ok(tag_backend(resp, &backend))
}

impl HopCall<EmbeddingServed> for Native {
    type Answer = Response;

    async fn admit(
        &self,
        access: &std::sync::Arc<Access>,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<Ticket>, ApiError> {
        match self.method {
            Method::CountTokens => access.admit_count_tokens(caller, id).await.map(|()| None),
            _ => access.admit_embedding(caller, id, estimate::prompt_tokens(&self.json)).await.map(Some),
        }
    }

    async fn local(
        &self,
        served: &EmbeddingServed,
        access: &std::sync::Arc<Access>,
        caller: &Caller,
    ) -> Result<Result<Response, UpstreamError>, ApiError> {
        let gate = Gate { access, caller };
        match self.method {
            Method::Embed => local::embed_content(served, &self.bytes, gate).await,
            Method::Batch => local::batch_embed_contents(served, &self.bytes, gate).await,
            Method::CountTokens => local::count_tokens(served, &self.bytes, gate).await,
        }
        .map(Ok)
    }

    async fn upstream(
        &self,
        upstream: &Upstream,
        id: &str,
        ticket: &mut Option<Ticket>,
    ) -> Result<Result<Response, UpstreamError>, ApiError> {
        match upstream {
            Upstream::Gemini(g) => {
                let method = match self.method {
                    Method::Embed => GeminiMethod::EmbedContent,
                    Method::Batch => GeminiMethod::BatchEmbedContents,
                    Method::CountTokens => GeminiMethod::CountTokens,
                };
                let body = rewrite_models(&self.bytes, &self.json, g.transport().upstream_model(id));
                match g.call(self.version.as_str(), id, method, body).await {
                    Ok(reply) => Ok(Ok(pass::answer(reply, Call::Generate, ticket.take()).await?)),
                    Err(e) => Ok(Err(e)),
                }
            }
            Upstream::OpenAi(_) if self.method == Method::CountTokens => Ok(Ok(translated::count_tokens(&self.json))),
            Upstream::OpenAi(_) => {
                let asks = self.asks.as_ref().map_err(|e| ApiError::from(e.clone()))?;
                let read = match embed_texts(upstream, id, asks, ticket).await? {
                    Ok(read) => read,
                    Err(e) => return Ok(Err(e)),
                };
                let mut embeddings = read.vectors.into_iter().map(|values| ContentEmbedding { values });
                Ok(Ok(match self.method {
                    Method::Embed => json_response(
                        StatusCode::OK,
                        &EmbedContentResponse { embedding: embeddings.next().expect("one vector per input") },
                    ),
                    _ => {
                        json_response(StatusCode::OK, &BatchEmbedContentsResponse { embeddings: embeddings.collect() })
                    }
                }))
            }
        }
    }
}
