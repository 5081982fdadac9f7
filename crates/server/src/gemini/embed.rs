//! `embedContent`, `batchEmbedContents` and `countTokens` on `models/{model}:{method}` when
//! the model is an embedding id ([`super::generate::dispatch`] routes here); ids with a list
//! of backends, or an upstream, go on to [`super::upstream::embed`]. Embedding ids
//! answer nothing else, and generative ids no embedding method: both get the real service's
//! 404 "not supported for {method}".
//!
//! Choices where the real service is not documented: `taskType` (every enum value) is accepted
//! and does not change the vector (MiniLM is a symmetric model with no task prompts); `title`
//! is prepended to the text with `RETRIEVAL_DOCUMENT`, the only task type it is meant for, and
//! ignored otherwise; several text parts are joined with spaces; inputs longer than the model's
//! limit are truncated, never refused (the real service also truncates silently).

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use gemd_wire::gemini::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, Content, ContentEmbedding, CountTokensResponse,
    EmbedContentRequest, EmbedContentResponse, ModalityTokenCount,
};
use gemd_wire::parse::{parse_batch_embed_contents, parse_count_tokens, parse_embed_content, semantic, WireError};
use gemd_wire::proto::Violation;

use super::Gate;
use crate::http::backend_header::tag_backend;
use crate::http::body::LimitedBody;
use crate::http::error::ErrorResponse;
use crate::http::json::json_response;
use crate::http::state::AppState;
use crate::service::access::Caller;
use crate::service::catalog::ModelSpec;
use crate::service::embedding::{EmbedInput, EmbeddingServed};
use crate::service::error::ApiError;
use crate::service::translate::embeddings::EmbedAsk;
use crate::service::version::ApiVersion;

/// Serves `method` on the embedding model `model`; anything else is a 404.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    version: ApiVersion,
    model: &str,
    method: &str,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    let known = matches!(method, "embedContent" | "batchEmbedContents" | "countTokens");
    let gate = Gate { access: &state.access, caller };
    if let Some(route) = state.catalog.embedding_route(model).filter(|_| known) {
        let bytes = body.bytes().await?;
        return Ok(super::upstream::embed::handle(route, version, method, bytes, gate).await?);
    }
    let served = state.catalog.embedding(model).filter(|_| known);
    let served = served.cloned().ok_or_else(|| ApiError::model_not_found(version, model, method))?;
    let bytes = body.bytes().await?;
    let resp = match method {
        "embedContent" => embed_content(&served, &bytes, gate).await?,
        "batchEmbedContents" => batch_embed_contents(&served, &bytes, gate).await?,
        _ => count_tokens(&served, &bytes, gate).await?,
    };
    Ok(tag_backend(resp, served.backend_name()))
}

/// Checks one request against the model; `at` is its proto path with a trailing dot
/// (`EmbedContentRequest.` or `BatchEmbedContentsRequest.requests[i].`).
fn input(served: &EmbeddingServed, req: &EmbedContentRequest, at: &str) -> Result<EmbedInput, WireError> {
    let ask = ask(&TextOnly::of(served), req, at)?;
    let dimension = served.output_dimension(ask.dimensionality, &ask.dimensionality_field)?;
    Ok(EmbedInput { text: ask.text, dimension })
}

/// A text-only embedder, named in the refusal of another part.
pub(super) struct TextOnly<'a> {
    pub model: &'a str,
    pub backend: &'a str,
}

impl<'a> TextOnly<'a> {
    fn of(served: &'a EmbeddingServed) -> Self {
        TextOnly { model: &served.spec.id, backend: served.embedder.name() }
    }
}

/// What one request asks: its text (`title` put first for `RETRIEVAL_DOCUMENT`, the one task
/// type it is meant for), dimension and task type.
pub(super) fn ask(embedder: &TextOnly<'_>, req: &EmbedContentRequest, at: &str) -> Result<EmbedAsk, WireError> {
    let content = req.content.as_ref().expect("the parser requires content");
    let mut text = texts(embedder, content, &format!("{at}content"))?;
    if req.task_type.as_deref() == Some("RETRIEVAL_DOCUMENT") {
        if let Some(title) = req.title.as_deref().filter(|t| !t.is_empty()) {
            text = format!("{title} {text}");
        }
    }
    Ok(EmbedAsk {
        text,
        dimensionality: req.output_dimensionality,
        dimensionality_field: format!("{at}output_dimensionality"),
        task_type: req.task_type.clone(),
    })
}

/// The text parts of `content`, joined; any other part is refused by its path.
fn texts(embedder: &TextOnly<'_>, content: &Content, at: &str) -> Result<String, WireError> {
    let mut out: Vec<&str> = Vec::new();
    for (j, part) in content.parts.iter().enumerate() {
        match &part.text {
            Some(t) => out.push(t),
            None => {
                return Err(WireError::Semantic(vec![semantic(
                    &format!("{at}.parts[{j}]"),
                    &format!(
                        "only text parts can be embedded: models/{} is served by the text-only embedder {}.",
                        embedder.model, embedder.backend
                    ),
                )]))
            }
        }
    }
    Ok(out.join(" "))
}

/// Refuses requests of a batch that name another model than the path's (aliases of the
/// path's model are the same model).
pub(super) fn batch_models(spec: &ModelSpec, req: &BatchEmbedContentsRequest) -> Vec<Violation> {
    let mut faults = Vec::new();
    for (i, r) in req.requests.iter().enumerate() {
        let named = r.model.as_deref().unwrap_or("");
        if !spec.answers_to(named) {
            faults.push(semantic(
                &format!("BatchEmbedContentsRequest.requests[{i}].model"),
                &format!(
                    "every request of a batch must name the model of the request path (models/{}); got \"{named}\".",
                    spec.id
                ),
            ));
        }
    }
    faults
}

/// Embeds every input in one engine call (one quota request), each vector cut to its own
/// dimension.
async fn embed(
    served: &EmbeddingServed,
    inputs: Vec<EmbedInput>,
    gate: Gate<'_>,
) -> Result<Vec<ContentEmbedding>, ApiError> {
    let embedded = served.embed(gate.access, gate.caller, inputs).await?;
    Ok(embedded.vectors.into_iter().map(|values| ContentEmbedding { values }).collect())
}

pub(super) async fn embed_content(
    served: &EmbeddingServed,
    bytes: &Bytes,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    let req = parse_embed_content(bytes)?;
    let input = input(served, &req, "EmbedContentRequest.")?;
    let embedding = embed(served, vec![input], gate).await?.pop().expect("one vector per input");
    Ok(json_response(StatusCode::OK, &EmbedContentResponse { embedding }))
}

pub(super) async fn batch_embed_contents(
    served: &EmbeddingServed,
    bytes: &Bytes,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    let req = parse_batch_embed_contents(bytes)?;
    let mut inputs = Vec::with_capacity(req.requests.len());
    let mut faults = batch_models(&served.spec, &req);
    for (i, r) in req.requests.iter().enumerate() {
        let at = format!("BatchEmbedContentsRequest.requests[{i}].");
        match input(served, r, &at) {
            Ok(input) => inputs.push(input),
            Err(e) => faults.extend(e.violations()),
        }
    }
    if !faults.is_empty() {
        return Err(WireError::Semantic(faults).into());
    }
    let embeddings = embed(served, inputs, gate).await?;
    Ok(json_response(StatusCode::OK, &BatchEmbedContentsResponse { embeddings }))
}

/// `countTokens` on an embedding model: the tokens each content is, markers included, before
/// truncation (so a count above `inputTokenLimit` says the input will be truncated), after
/// admitting the call against the model's `countTokens` bucket.
pub(super) async fn count_tokens(
    served: &EmbeddingServed,
    bytes: &Bytes,
    gate: Gate<'_>,
) -> Result<Response, ApiError> {
    let req = parse_count_tokens(bytes)?;
    let (contents, at) = match &req.generate_content_request {
        Some(inner) => (&inner.contents, "CountTokensRequest.generate_content_request.contents"),
        None => (&req.contents, "CountTokensRequest.contents"),
    };
    let texts = contents
        .iter()
        .enumerate()
        .map(|(i, c)| texts(&TextOnly::of(served), c, &format!("{at}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    gate.access.admit_count_tokens(gate.caller, &served.spec.id).await?;
    let n = served.count_tokens(texts).await?.iter().sum::<usize>() as u32;
    let body = CountTokensResponse {
        total_tokens: n,
        prompt_tokens_details: vec![ModalityTokenCount { modality: "TEXT".into(), token_count: n }],
    };
    Ok(json_response(StatusCode::OK, &body))
}
