//! `GET models` and `GET models/{id}` in the OpenAI list shape. Ids carry the `models/`
//! prefix, as the real layer's do; both spellings are accepted wherever a model is named.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gemd_wire::openai::{bare_model_id, ModelList, ModelObject};

use super::chat::unix_now;
use crate::auth::OpenAiAuthenticated;
use crate::catalog::Served;
use crate::error::{json_response, ApiError, OpenAiError};
use crate::state::AppState;

pub async fn list(_: OpenAiAuthenticated, State(state): State<AppState>) -> Result<Response, OpenAiError> {
    let data = state.catalog.models().iter().map(model_object).collect();
    Ok(json_response(StatusCode::OK, &ModelList::new(data)))
}

pub async fn get(_: OpenAiAuthenticated, Path(id): Path<String>, State(state): State<AppState>) -> Result<Response, OpenAiError> {
    let served = state.catalog.get(&id).ok_or_else(|| {
        ApiError::NotFound(format!("models/{} is not found for API version v1beta", bare_model_id(&id)))
    })?;
    Ok(json_response(StatusCode::OK, &model_object(served)))
}

/// `created` is when this server started: the catalog has no release dates.
fn model_object(served: &Served) -> ModelObject {
    static STARTED: OnceLock<u64> = OnceLock::new();
    ModelObject::new(format!("models/{}", served.spec.id), *STARTED.get_or_init(unix_now))
}
