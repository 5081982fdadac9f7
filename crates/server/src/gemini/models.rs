//! `models.list` and `models.get`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gemd_wire::gemini::ListModelsResponse;

use crate::http::auth::Authenticated;
use crate::http::error::ErrorResponse;
use crate::http::json::json_response;
use crate::http::query::RequestQuery;
use crate::http::state::AppState;
use crate::service::catalog::PageError;
use crate::service::error::ApiError;
use crate::service::version::ApiVersion;

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

pub async fn list(
    _: Authenticated,
    Path(version): Path<String>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let q = RequestQuery::parse(raw.as_deref().unwrap_or(""));
    let page_size = q
        .page_size(DEFAULT_PAGE_SIZE as i64, MAX_PAGE_SIZE as i64)
        .map_err(|value| ApiError::from(PageError::PageSize { value }))? as usize;
    let models = state.catalog.wire_models();
    // The token is opaque to clients; like Google's, it encodes the last name already returned.
    let start = match q.page_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => {
            let last = URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|id| models.iter().position(|m| m.name.strip_prefix("models/") == Some(id.as_str())))
                .ok_or(ApiError::from(PageError::PageToken))?;
            last + 1
        }
    };
    let total = models.len();
    let page: Vec<_> = models.into_iter().skip(start).take(page_size).collect();
    let next_page_token = (start + page.len() < total)
        .then(|| page.last().map(|m| URL_SAFE_NO_PAD.encode(m.name.trim_start_matches("models/").as_bytes())))
        .flatten();
    Ok(json_response(StatusCode::OK, &ListModelsResponse { models: page, next_page_token }))
}

pub async fn get(
    _: Authenticated,
    Path((version, name)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Response, ErrorResponse> {
    let version = ApiVersion::parse(&version)?;
    let model = state.catalog.wire_model(&name).ok_or(ApiError::UnknownModel { model: name, version })?;
    Ok(json_response(StatusCode::OK, &model))
}
