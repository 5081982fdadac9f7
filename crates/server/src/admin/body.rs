//! The body of an admin call (a project, a key name, the admin token), read under a limit of
//! its own with the envelope for every refusal. axum's `Bytes` extractor, used before, has a
//! 2 MB default and answers over it in plain text; admin bodies are a few hundred bytes, and
//! the sign-in one is read before any credential is checked.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use crate::body::{declared_too_large, read_limited};
use crate::error::ApiError;

/// The largest admin body accepted (the playground's generate calls take the public limit).
pub const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// An admin call's raw body, at most [`ADMIN_BODY_LIMIT`] bytes.
pub struct AdminBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for AdminBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        if let Some(refusal) = declared_too_large(req.headers(), ADMIN_BODY_LIMIT) {
            return Err(refusal);
        }
        read_limited(req.into_body(), ADMIN_BODY_LIMIT).await.map(AdminBody)
    }
}
