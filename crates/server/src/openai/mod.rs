//! The OpenAI-compatible layer Google serves under `/v1beta/openai/`: chat completions
//! (whole and streamed), the model list, embeddings and files. It runs on the same catalog, key
//! ring, engines and embedders as the native surface; only the request and answer shapes
//! differ ([`convert`], with the dialect table of [`crate::service::translate`]). Ids
//! served through upstreams are passed on in this same dialect ([`routed`]). Errors take the
//! layer's form ([`OpenAi`]).

mod chat;
mod convert;
mod embeddings;
mod files;
mod models;
mod routed;
mod stream;

use axum::extract::OriginalUri;
use axum::routing::{get, post};
use axum::Router;

use crate::http::error::{ErrorResponse, OpenAi, OPENAI_PREFIX};
use crate::http::state::AppState;
use crate::service::error::ApiError;

/// What the layer's handlers answer.
type OpenAiResult<T> = Result<T, ErrorResponse<OpenAi>>;

pub fn routes() -> Router<AppState> {
    let layer = Router::new()
        .route("/chat/completions", post(chat::completions))
        .route("/embeddings", post(embeddings::create))
        .route("/files", get(files::list).post(files::create))
        .route("/files/{*path}", get(files::get).delete(files::delete))
        .route("/models", get(models::list))
        .route("/models/{*id}", get(models::get))
        .fallback(|OriginalUri(uri): OriginalUri| async move {
            ErrorResponse::<OpenAi>::from(ApiError::method_not_found(uri.path()))
        });
    Router::new().nest(OPENAI_PREFIX, layer)
}
