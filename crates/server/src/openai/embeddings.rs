//! `POST embeddings`: the OpenAI shape of `batchEmbedContents`, on the same embedding ids and
//! embedder as the native surface. `dimensions` is `outputDimensionality` (truncate and
//! renormalise; at least 1 and at most the model's dimension); `usage` counts the tokens the
//! model read. Ids with a list of backends, or an upstream, are served through
//! [`crate::service::embedding::route`] (texts on either kind of upstream).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use gemd_wire::openai::parse_embedding;
use gemd_wire::openai_embeddings::EmbeddingList;

use super::OpenAiResult;
use crate::http::auth::Authenticated;
use crate::http::backend_header::tag_backend;
use crate::http::body::{LimitedBody, PublicLimit};
use crate::http::error::OpenAi;
use crate::http::json::json_response;
use crate::http::state::AppState;
use crate::service::embedding::route::Texts;
use crate::service::embedding::EmbedInput;
use crate::service::error::ApiError;
use crate::service::routing::serve;
use crate::service::translate::embeddings::EmbedAsk;
use crate::service::version::ApiVersion;

pub async fn create(
    auth: Authenticated<OpenAi>,
    State(state): State<AppState>,
    body: LimitedBody<PublicLimit, OpenAi>,
) -> OpenAiResult<Response> {
    let bytes = body.bytes().await?;
    let req = parse_embedding(&bytes)?;
    let model = req.model_id();
    if let Some(route) = state.catalog.embedding_route(model) {
        let (texts, dimensionality, base64) = (req.inputs()?, req.dimensions()?, req.wants_base64()?);
        let asks = texts
            .into_iter()
            .map(|text| EmbedAsk { text, dimensionality, dimensionality_field: "dimensions".into(), task_type: None })
            .collect();
        let (embedded, backend) = serve(route, &state.access, &auth.caller, &Texts(asks)).await?;
        let body = EmbeddingList::new(embedded.vectors, base64, &req.model, embedded.tokens);
        return Ok(tag_backend(json_response(StatusCode::OK, &body), &backend));
    }
    // The layer runs v1beta's embedContent underneath.
    let served = state
        .catalog
        .embedding(model)
        .cloned()
        .ok_or_else(|| ApiError::model_not_found(ApiVersion::V1Beta, model, "embedContent"))?;
    let texts = req.inputs()?;
    let dimension = served.output_dimension(req.dimensions()?, "dimensions")?;
    let base64 = req.wants_base64()?;
    let inputs = texts.into_iter().map(|text| EmbedInput { text, dimension }).collect();
    let embedded = served.embed(&state.access, &auth.caller, inputs).await?;
    let body = EmbeddingList::new(embedded.vectors, base64, &req.model, embedded.tokens);
    Ok(tag_backend(json_response(StatusCode::OK, &body), served.backend_name()))
}
