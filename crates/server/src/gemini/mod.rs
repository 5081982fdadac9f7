//! The native Gemini REST surface, served identically under `/v1beta` and `/v1`: its routes,
//! handlers, and the conversion of its requests and answers ([`convert`], [`tools`]).

mod convert;
mod embed;
mod generate;
mod models;
mod stream;
mod tools;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::http::state::AppState;
use crate::service::access::{Access, Caller};

pub use generate::handle;

/// Who is asking, for the quota admission of a generate or embed call.
#[derive(Clone, Copy)]
struct Gate<'a> {
    access: &'a Arc<Access>,
    caller: &'a Caller,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/models", get(models::list))
        .route("/{version}/models/{name}", get(models::get).post(generate::dispatch))
}
