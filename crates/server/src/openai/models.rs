//! `GET models` and `GET models/{id}` in the OpenAI list shape. Ids carry the `models/`
//! prefix, as the real layer's do; both spellings are accepted wherever a model is named.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gemd_wire::openai::{bare_model_id, ModelList, ModelObject};

use super::chat::unix_now;
use crate::auth::OpenAiAuthenticated;
use crate::error::{json_response, ApiError, OpenAiError};
use crate::state::AppState;

pub async fn list(_: OpenAiAuthenticated, State(state): State<AppState>) -> Result<Response, OpenAiError> {
    let data = state.catalog.wire_models().into_iter().map(|m| model_object(m.name)).collect();
    Ok(json_response(StatusCode::OK, &ModelList::new(data)))
}

pub async fn get(_: OpenAiAuthenticated, Path(id): Path<String>, State(state): State<AppState>) -> Result<Response, OpenAiError> {
    let model = state.catalog.wire_model(&id).ok_or_else(|| {
        ApiError::NotFound(format!("models/{} is not found for API version v1beta", bare_model_id(&id)))
    })?;
    Ok(json_response(StatusCode::OK, &model_object(model.name)))
}

/// The object of the model named `models/{id}` (generative or embedding). `created` is when
/// this server started: the catalog has no release dates.
fn model_object(name: String) -> ModelObject {
    static STARTED: OnceLock<u64> = OnceLock::new();
    ModelObject::new(name, *STARTED.get_or_init(unix_now))
}
