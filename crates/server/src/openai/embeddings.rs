//! `POST embeddings`: the OpenAI shape of `batchEmbedContents`, on the same embedding ids and
//! embedder as the native surface. `dimensions` is `outputDimensionality` (truncate and
//! renormalise; at least 1 and at most the model's dimension); `usage` counts the tokens the model read.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use gemd_engine::embed::truncate_normalized;
use gemd_wire::openai::parse_embedding;
use gemd_wire::openai_embeddings::EmbeddingList;

use crate::auth::OpenAiAuthenticated;
use crate::body::read_limited;
use crate::error::{json_response, ApiError, OpenAiError};
use crate::state::AppState;

pub async fn create(OpenAiAuthenticated(caller): OpenAiAuthenticated, State(state): State<AppState>, body: Body) -> Result<Response, OpenAiError> {
    let bytes = read_limited(body, state.limits.max_body_bytes).await?;
    let req = parse_embedding(&bytes)?;
    let model = req.model_id();
    let served = state.catalog.embedding(model).cloned().ok_or_else(|| ApiError::ModelNotFound {
        model: model.to_string(),
        version: "v1beta".into(),
        method: "embedContent".into(),
    })?;
    let texts = req.inputs()?;
    let dimension = served.output_dimension(req.dimensions()?, "dimensions")?;
    let base64 = req.wants_base64()?;
    let (vectors, tokens) = served.embed(&state.access, &caller, texts).await?;
    let vectors = vectors.into_iter().map(|v| truncate_normalized(v, dimension)).collect();
    let body = EmbeddingList::new(vectors, base64, &req.model, tokens);
    Ok(served.tag(json_response(StatusCode::OK, &body)))
}
