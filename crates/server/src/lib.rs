//! gemd-server: the HTTP surface. One module per API surface (`gemini`, `openai`), both on the
//! same generation machinery (`generation`) and embedding machinery (`embedding`), one key
//! ring (`auth`), one error type that renders every failure (`error`); the admin API
//! (`admin`) and the web console (`console`) that uses it.

pub mod access;
pub mod admin;
pub mod auth;
pub mod body;
pub mod catalog;
pub mod console;
pub mod embedding;
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

use std::future::Future;

use axum::http::Uri;
use axum::Router;
use tokio::net::TcpListener;

pub use auth::KeyRing;
pub use catalog::{builtin_models, Catalog, ModelSpec, DEFAULT_BACKEND};
pub use embedding::{builtin_embedding_models, EmbeddingSpec, DEFAULT_EMBEDDER};
pub use error::ApiError;
pub use state::{AppState, ServerLimits};

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(gemini::routes())
        .merge(openai::routes())
        .merge(ops::routes())
        .merge(admin::routes())
        .merge(console::routes())
        .fallback(|uri: Uri| async move { ApiError::NotFound(format!("Method not found: {}", uri.path())) })
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops accepting and waits for in-flight requests
/// (streams included) to finish.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    // The peer address is recorded for the admin sign-in throttle (`admin::session`).
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
