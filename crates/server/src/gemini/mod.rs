//! The native Gemini REST surface, served identically under `/v1beta` and `/v1`: its routes,
//! handlers, the conversion of its requests and answers ([`convert`], [`tools`]), and the
//! pass-through of routed ids to their backends ([`upstream`]).

mod caches;
mod convert;
mod embed;
pub(crate) mod files;
mod generate;
mod models;
mod stream;
mod tools;
mod upstream;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use gemd_engine::ChatPrompt;
use gemd_wire::gemini::GenerateContentRequest;

use crate::http::state::AppState;
use crate::service::access::{Access, Caller};
use crate::service::catalog::Served;
use crate::service::error::ApiError;

pub use generate::handle;

/// The chat a `generateContent` request puts before `served`'s model, refused where the
/// handler refuses it, with its declared functions (what `countTokens` counts too): `gemd
/// render` prints it, rendered and tokenised by the backend.
pub fn model_prompt(req: &GenerateContentRequest, served: &Served) -> Result<ChatPrompt, ApiError> {
    convert::check_supported(req, served)?;
    let plan = tools::plan(req)?;
    Ok(plan.prompt(convert::chat_prompt(req, served)?))
}

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
        .merge(files::routes())
        .merge(caches::routes())
}
