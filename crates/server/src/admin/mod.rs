//! The admin REST API under `/admin/v1/`, which the console uses: projects, keys, uploaded
//! files, live quota use and a playground. Every call needs the admin credential ([`session::Admin`]); errors
//! are the same `google.rpc.Status` envelopes as the public API's.

mod files;
mod playground;
mod projects;
mod quota;
mod session;
mod views;

use axum::extract::State;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/sessions", post(session::sign_in))
        .route("/admin/v1/models", get(models))
        .route("/admin/v1/projects", get(projects::list).post(projects::create))
        .route("/admin/v1/projects/{id}", patch(projects::update))
        .route("/admin/v1/projects/{id}/keys", get(projects::keys).post(projects::create_key))
        .route("/admin/v1/keys/{name}", post(projects::key_action))
        .route("/admin/v1/projects/{id}/files", get(files::list))
        .route("/admin/v1/projects/{id}/files/{*file}", delete(files::delete))
        .route("/admin/v1/projects/{id}/quota", get(quota::quota))
        .route("/admin/v1/projects/{id}/usage/hourly", get(quota::hourly))
        .route("/admin/v1/projects/{id}/models/{name}", post(playground::run))
}

/// `GET /admin/v1/models`: what the playground and dashboard can pick from.
async fn models(_: session::Admin, State(state): State<AppState>) -> Json<Value> {
    let models: Vec<Value> = state
        .catalog
        .wire_models()
        .into_iter()
        .map(|m| json!({"name": m.name, "displayName": m.display_name, "methods": m.supported_generation_methods}))
        .collect();
    Json(json!({ "models": models }))
}
