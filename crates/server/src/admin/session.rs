//! The admin credential on a request: the [`Admin`] extractor that every admin handler takes
//! first (a console session or the admin token in `Authorization: Bearer`, checked by the
//! service's [`AdminAuth`](crate::service::admin_auth::AdminAuth)), the sign-in call that
//! trades the token for a session, and [`NoStore`] for answers that carry a secret, so no
//! browser or proxy cache keeps them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::time;
use crate::http::bearer::bearer_credential;
use crate::http::body::JsonBody;
use crate::http::error::ErrorResponse;
use crate::http::state::AppState;
use crate::service::error::{AdminRefusal, ApiError};

/// The address of the connection a request came on, when the server records it.
fn client_addr(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
}

/// Proof that an admin call carried a valid session or the admin token. First in every
/// admin handler's arguments, so nothing is read or done before it.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(bearer_credential) {
            None | Some("") => Err(ApiError::Unauthenticated(AdminRefusal::NoCredential).into()),
            Some(c) => Ok(state.admin.verify(c, client_addr(parts), state.admin.now()).map(|()| Admin)?),
        }
    }
}

/// The client's address as an extractor (never fails: `None` when not recorded).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts)))
    }
}

/// An answer that carries a secret (a session, a new key's secret): `Cache-Control: no-store`,
/// so no browser, proxy or back/forward cache keeps a copy.
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut resp = self.0.into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    token: String,
}

/// `POST /admin/v1/sessions`: the admin token in the body, a 12-hour session back.
pub async fn sign_in(
    ClientAddr(client): ClientAddr,
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SignIn>,
) -> Result<NoStore<Json<Value>>, ErrorResponse> {
    let session = state.admin.sign_in(&req.token, client, state.admin.now())?;
    Ok(NoStore(Json(json!({ "session": session.token, "expireTime": time(session.expires_at_ms) }))))
}
