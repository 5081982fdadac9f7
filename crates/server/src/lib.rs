//! gemd-server: the HTTP surface. One module per API surface (`gemini`, `openai`), both on the
//! same generation machinery (`generation`) and embedding machinery (`embedding`), one key
//! ring (`auth`), one error type that renders every failure (`error`); the admin API
//! (`admin`) and the web console (`console`) that uses it. Around them: the connection loop
//! with its read deadlines and connection limit (`transport`), CORS for the public API
//! (`cors`), and the envelope on every error, handler-written or not (`envelope`).

pub mod access;
pub mod admin;
pub mod auth;
pub mod body;
pub mod catalog;
pub mod console;
pub mod cors;
pub mod embedding;
pub mod envelope;
pub mod error;
pub mod gemini;
pub mod generation;
pub mod openai;
pub mod ops;
pub mod query;
pub mod quota_error;
pub mod quota_table;
pub mod state;
pub mod tools;
pub mod transport;

use std::future::Future;

use axum::http::Uri;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use tokio::net::TcpListener;

pub use auth::KeyRing;
pub use catalog::{builtin_models, Catalog, ModelSpec, DEFAULT_BACKEND};
pub use cors::CorsPolicy;
pub use embedding::{builtin_embedding_models, EmbeddingSpec, DEFAULT_EMBEDDER};
pub use error::ApiError;
pub use state::{AppState, ServerLimits};

/// The whole application on one listener: the public API, the admin API and the console.
pub fn router(state: AppState) -> Router {
    finish(public_routes().merge(admin_routes()), state)
}

/// The public API alone (and the operational endpoints), for a public listener when the
/// admin API has a listener of its own.
pub fn public_router(state: AppState) -> Router {
    finish(public_routes(), state)
}

/// The admin API and the console alone (and the operational endpoints).
pub fn admin_router(state: AppState) -> Router {
    finish(admin_routes().merge(ops::routes()), state)
}

fn public_routes() -> Router<AppState> {
    Router::new().merge(gemini::routes()).merge(openai::routes()).merge(ops::routes())
}

fn admin_routes() -> Router<AppState> {
    Router::new().merge(admin::routes()).merge(console::routes())
}

/// `routes` with what every answer goes through, outermost last: a declared body over the
/// limit is refused unread, the public API answers CORS, and every error is the envelope.
/// The layers wrap the finished router as one service (its fallback), not each route: a
/// layer on the routes would run inside axum's method router, before it adds `Allow` to a
/// 405 and around its 405 for a preflight.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    let limits = state.limits.clone();
    let app = routes
        .fallback(|uri: Uri| async move { ApiError::NotFound(format!("Method not found: {}", uri.path())) })
        .with_state(state);
    Router::new()
        .fallback_service(app)
        .layer(from_fn_with_state(limits.max_body_bytes, body::refuse_declared_oversize))
        .layer(from_fn_with_state(limits.cors, cors::cors))
        .layer(from_fn(envelope::every_error_enveloped))
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
pub async fn serve(listeners: impl Into<Listeners>, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let Listeners { public, admin } = listeners.into();
    let limits = state.limits.clone();
    let sites = match admin {
        None => vec![(public, router(state))],
        Some(admin) => vec![(public, public_router(state.clone())), (admin, admin_router(state))],
    };
    transport::serve(sites, &limits, shutdown).await
}
