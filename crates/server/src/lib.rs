//! gemd-server: the Gemini API (and Google's OpenAI-compatible layer, and gemd's admin API and
//! console) over HTTP, in three layers whose folders are the crate's tree:
//!
//! - [`service`]: what gemd does, with no HTTP in it: the model catalog, keys, projects and
//!   quotas (with the RAII ticket), generation from a surface-neutral request, embedding,
//!   function calling and structured output, and the one error type with its `google.rpc`
//!   code table.
//! - [`http`]: what every surface shares on the wire: the server state and limits, the API-key
//!   extractor (one, parameterised by the surface's error form), errors as responses, request
//!   bodies under their limits, the envelope on every error, CORS, the operational endpoints,
//!   the console's files, streamed answers, the deadline of every public call and the
//!   connection loop.
//! - one module per surface, each its routes, handlers and dialect conversion: [`gemini`] (the
//!   native REST surface), [`openai`] (the OpenAI-compatible layer) and [`admin`] (the admin
//!   API the console uses).
//!
//! The rule of the layers: imports point only surface → http → service. `service` never
//! imports `http` or a surface, and `http` never imports a surface (a surface may use
//! another's handler: the admin playground runs the native `generateContent`). This file
//! declares the modules, assembles the router and re-exports the public API; `layer_rule`
//! checks the rule in `cargo test`.

pub mod admin;
pub mod gemini;
pub mod http;
pub mod openai;
pub mod service;

#[cfg(test)]
mod layer_rule;

use std::future::Future;

use axum::http::Uri;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use tokio::net::TcpListener;

pub use http::cors::{CorsPolicy, DEFAULT_ALLOW_HEADERS};
pub use http::state::{AppState, ServerLimits};
pub use service::access::{Access, Caller, KeyRing, QuotaTable, DEFAULT_PROJECT};
pub use service::admin_auth::{AdminAuth, SignInLimits};
pub use service::catalog::{
    builtin_embedding_models, builtin_models, Backends, Catalog, CatalogError, GenerativeSpec, ModelKind, ModelSpec,
    DEFAULT_BACKEND, DEFAULT_EMBEDDER,
};
pub use service::error::ApiError;
pub use service::files::{FileLimits, Files};

use http::body::refuse_declared_oversize;
use http::envelope::every_error_enveloped;
use http::error::ErrorResponse;

/// The whole application on one listener: the public API, the admin API and the console.
pub fn router(state: AppState) -> Router {
    finish(public_routes(&state.limits).merge(admin_routes()), state)
}

/// The public API alone (and the operational endpoints), for a public listener when the
/// admin API has a listener of its own.
pub fn public_router(state: AppState) -> Router {
    finish(public_routes(&state.limits), state)
}

/// The admin API and the console alone (and the operational endpoints).
pub fn admin_router(state: AppState) -> Router {
    finish(admin_routes().merge(http::ops::routes()), state)
}

/// The public API: the native surface and the OpenAI layer, each call within its deadline
/// (a route layer: only calls that reach a handler are timed), and the operational endpoints.
fn public_routes(limits: &ServerLimits) -> Router<AppState> {
    let api = Router::new().merge(gemini::routes()).merge(openai::routes());
    let api = api.route_layer(from_fn_with_state(limits.deadline, http::deadline::enforce));
    api.merge(http::ops::routes())
}

fn admin_routes() -> Router<AppState> {
    Router::new().merge(admin::routes()).merge(http::console::routes())
}

/// `routes` with what every answer goes through, outermost last: a declared body over the
/// limit is refused unread, the public API answers CORS, and every error is the envelope.
/// The layers wrap the finished router as one service (its fallback), not each route: a
/// layer on the routes would run inside axum's method router, before it adds `Allow` to a
/// 405 and around its 405 for a preflight.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    let limits = state.limits.clone();
    let app = routes
        .fallback(|uri: Uri| async move {
            ErrorResponse::<http::error::Gemini>::from(ApiError::method_not_found(uri.path()))
        })
        .with_state(state);
    Router::new()
        .fallback_service(app)
        .layer(from_fn_with_state(limits.max_body_bytes, refuse_declared_oversize))
        .layer(from_fn_with_state(limits.cors, http::cors::cors))
        .layer(from_fn(every_error_enveloped))
}

/// Where gemd listens: the public port, and the admin API's own when it is bound apart.
pub struct Listeners {
    pub public: TcpListener,
    pub admin: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(public: TcpListener) -> Self {
        Listeners { public, admin: None }
    }
}

/// Serves until `shutdown` resolves, then stops accepting and waits for in-flight requests
/// (streams included) to finish. With an admin listener, the admin API and the console are
/// served there only.
pub async fn serve(
    listeners: impl Into<Listeners>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Listeners { public, admin } = listeners.into();
    let limits = state.limits.clone();
    let sites = match admin {
        None => vec![(public, router(state))],
        Some(admin) => vec![(public, public_router(state.clone())), (admin, admin_router(state))],
    };
    http::transport::serve(sites, &limits, shutdown).await
}
