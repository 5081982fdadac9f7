//! `POST embeddings`: gemd has no embedding backend yet, so every (well-formed) request is
//! answered 404 in the layer's error form, naming the model.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use gemd_wire::openai::parse_embedding;

use crate::auth::OpenAiAuthenticated;
use crate::body::read_limited;
use crate::error::{ApiError, OpenAiError};
use crate::state::AppState;

pub async fn create(_: OpenAiAuthenticated, State(state): State<AppState>, body: Body) -> Result<Response, OpenAiError> {
    let bytes = read_limited(body, state.limits.max_body_bytes).await?;
    let req = parse_embedding(&bytes)?;
    Err(ApiError::NotFound(format!(
        "models/{} is not found for API version v1beta, or is not supported for embeddings: embeddings are not available on this server yet (no embedding backend is configured).",
        req.model_id()
    ))
    .into())
}
