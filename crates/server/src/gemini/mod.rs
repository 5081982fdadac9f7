//! The native Gemini REST surface, served identically under `/v1beta` and `/v1`.

mod convert;
mod embed;
mod generate;
mod models;
mod stream;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// API versions gemd answers to.
pub const VERSIONS: &[&str] = &["v1beta", "v1"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/models", get(models::list))
        .route("/{version}/models/{name}", get(models::get).post(generate::dispatch))
}
