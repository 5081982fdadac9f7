//! The OpenAI-compatible layer Google serves under `/v1beta/openai/`: chat completions
//! (whole and streamed), the model list, and embeddings. It runs on the same catalog, key
//! ring, engines and embedders as the native surface; only the request and answer shapes
//! differ. Errors take the layer's form (see [`OpenAiError`]).

mod chat;
mod convert;
mod embeddings;
mod models;
mod stream;

use axum::extract::OriginalUri;
use axum::routing::{get, post};
use axum::Router;

use crate::error::{ApiError, OpenAiError};
use crate::state::AppState;

/// Where the layer is mounted.
pub const PREFIX: &str = "/v1beta/openai";

pub fn routes() -> Router<AppState> {
    let layer = Router::new()
        .route("/chat/completions", post(chat::completions))
        .route("/embeddings", post(embeddings::create))
        .route("/models", get(models::list))
        .route("/models/{*id}", get(models::get))
        .fallback(|OriginalUri(uri): OriginalUri| async move { OpenAiError(ApiError::NotFound(format!("Method not found: {}", uri.path()))) });
    Router::new().nest(PREFIX, layer)
}
