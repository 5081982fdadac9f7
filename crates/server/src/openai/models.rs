//! `GET models` and `GET models/{id}` in the OpenAI list shape. Ids carry the `models/`
//! prefix, as the real layer's do; both spellings are accepted wherever a model is named.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gemd_wire::openai::{bare_model_id, ModelList, ModelObject};

use super::chat::unix_now;
use super::OpenAiResult;
use crate::http::auth::Authenticated;
use crate::http::error::OpenAi;
use crate::http::json::json_response;
use crate::http::state::AppState;
use crate::service::error::ApiError;
use crate::service::version::ApiVersion;

pub async fn list(_: Authenticated<OpenAi>, State(state): State<AppState>) -> OpenAiResult<Response> {
    let data = state.catalog.wire_models().into_iter().map(|m| model_object(m.name)).collect();
    Ok(json_response(StatusCode::OK, &ModelList::new(data)))
}

pub async fn get(
    _: Authenticated<OpenAi>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> OpenAiResult<Response> {
    let unknown = || ApiError::UnknownModel { model: bare_model_id(&id).to_string(), version: ApiVersion::V1Beta };
    let model = state.catalog.wire_model(&id).ok_or_else(unknown)?;
    Ok(json_response(StatusCode::OK, &model_object(model.name)))
}

/// The object of the model named `models/{id}` (generative or embedding). `created` is when
/// this server started: the catalog has no release dates.
fn model_object(name: String) -> ModelObject {
    static STARTED: OnceLock<u64> = OnceLock::new();
    ModelObject::new(name, *STARTED.get_or_init(unix_now))
}
