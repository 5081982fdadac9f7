//! Shared state of the HTTP layer.

use std::sync::Arc;

use crate::access::Access;
use crate::admin::AdminAuth;
use crate::catalog::Catalog;

/// Limits the server applies before any model runs.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        // The real service accepts inline requests up to 20 MB.
        ServerLimits { max_body_bytes: 20 * 1024 * 1024 }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// Keys, projects and quotas.
    pub access: Arc<Access>,
    pub limits: ServerLimits,
    /// The admin token's verifier, for the admin API and the console.
    pub admin: Arc<AdminAuth>,
}
