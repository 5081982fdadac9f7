//! The console's playground: the native `generateContent` / `streamGenerateContent` /
//! `countTokens` on behalf of a project, answered and charged exactly as a call with one of
//! that project's keys would be (same handler, same quota, same 429).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::session::Admin;
use crate::http::body::LimitedBody;
use crate::http::error::ErrorResponse;
use crate::http::state::AppState;
use crate::service::access::Caller;
use crate::service::error::ApiError;

/// `POST /admin/v1/projects/{id}/models/{model}:{method}`.
pub async fn run(
    _: Admin,
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    let project = state.access.store.get_project(&id).await?.ok_or_else(|| ApiError::project_not_found(&id))?;
    let caller = Caller { project_id: project.id, tier: project.tier, key_id: None };
    crate::gemini::handle(&state, &caller, "v1beta", &name, raw.as_deref(), body).await
}
