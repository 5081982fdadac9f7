//! The native Gemini REST surface, served identically under `/v1beta` and `/v1`.

mod convert;
mod embed;
mod generate;
mod models;
mod stream;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::access::{Access, Caller};
use crate::state::AppState;

pub use generate::handle;

/// Who is asking, for the quota admission of a generate or embed call.
#[derive(Clone, Copy)]
struct Gate<'a> {
    access: &'a Arc<Access>,
    caller: &'a Caller,
}

/// API versions gemd answers to.
pub const VERSIONS: &[&str] = &["v1beta", "v1"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/models", get(models::list))
        .route("/{version}/models/{name}", get(models::get).post(generate::dispatch))
}
