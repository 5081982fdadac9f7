//! Projects and their keys: list, create, change tier or logging opt-out, create a key
//! (its secret answered once), revoke a key.

use axum::extract::{Path, State};
use axum::Json;
use gemd_store::Tier;
use serde::Deserialize;
use serde_json::{json, Value};

use super::session::{Admin, NoStore};
use super::views::{KeyView, ProjectView};
use crate::http::body::JsonBody;
use crate::http::error::ErrorResponse;
use crate::http::state::AppState;
use crate::service::admin_input::AdminInputError;
use crate::service::error::ApiError;

/// Longest display name accepted for a project or key.
const MAX_NAME: usize = 100;

fn display_name(name: Option<String>, field: &'static str, fallback: &str) -> Result<String, ApiError> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| fallback.to_string());
    if name.chars().count() > MAX_NAME {
        return Err(AdminInputError::NameTooLong { field, max: MAX_NAME }.into());
    }
    Ok(name)
}

fn tier(name: &str) -> Result<Tier, ApiError> {
    name.parse().map_err(|e: String| AdminInputError::UnknownTier(e).into())
}

pub async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ErrorResponse> {
    let projects: Vec<ProjectView> = state.access.store.list_projects().await?.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "projects": projects })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProject {
    display_name: Option<String>,
    tier: Option<String>,
}

pub async fn create(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(req): JsonBody<NewProject>,
) -> Result<Json<ProjectView>, ErrorResponse> {
    let name = display_name(req.display_name, "displayName", "My project")?;
    let tier = req.tier.as_deref().map(tier).transpose()?.unwrap_or(Tier::Free);
    Ok(Json(state.access.store.create_project(None, &name, tier).await?.into()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectPatch {
    tier: Option<String>,
    logging_opt_out: Option<bool>,
}

pub async fn update(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<ProjectPatch>,
) -> Result<Json<ProjectView>, ErrorResponse> {
    let store = &state.access.store;
    let mut project = store.get_project(&id).await?.ok_or_else(|| ApiError::project_not_found(&id))?;
    if let Some(t) = patch.tier.as_deref() {
        project = store.set_tier(&id, tier(t)?).await?;
    }
    if let Some(opt_out) = patch.logging_opt_out {
        project = store.set_logging_opt_out(&id, opt_out).await?;
    }
    Ok(Json(project.into()))
}

pub async fn keys(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ErrorResponse> {
    let store = &state.access.store;
    store.get_project(&id).await?.ok_or_else(|| ApiError::project_not_found(&id))?;
    let keys: Vec<KeyView> = store.list_keys(Some(&id)).await?.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "keys": keys })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKeyRequest {
    display_name: Option<String>,
}

/// Creates a key; the response is the only time its secret is ever shown, and no cache keeps it.
pub async fn create_key(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<NewKeyRequest>,
) -> Result<NoStore<Json<Value>>, ErrorResponse> {
    let name = display_name(req.display_name, "displayName", "API key")?;
    let created = state.access.store.create_key(&id, &name).await?;
    tracing::info!(project = %id, key_id = %created.key.id, "API key created through the admin API");
    Ok(NoStore(Json(json!({ "key": KeyView::from(created.key), "secret": created.secret }))))
}

/// `POST /admin/v1/keys/{id}:revoke`.
pub async fn key_action(
    _: Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<KeyView>, ErrorResponse> {
    let Some((id, "revoke")) = name.rsplit_once(':') else {
        return Err(ApiError::NoKeyAction { name: name.clone() }.into());
    };
    let key = state.access.store.revoke_key(id).await?;
    tracing::info!(key_id = %id, "API key revoked through the admin API");
    Ok(Json(key.into()))
}
