//! The `cachedContents` resource on the native surface: `create`, `list`, `get`, `patch`
//! (the expiry only) and `delete` under `/{version}/cachedContents`. The service
//! ([`crate::service::caches`]) keeps them; this module reads the wire, counts a new cache's
//! tokens on its model (the local tokenizer, or gemd's estimate for an upstream id) and writes
//! the resource. Input-only fields (contents, system instruction, tools, tool config) are
//! never echoed, as Google's answers do not.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gemd_store::StoredCache;
use gemd_wire::parse::{parse_generate, parse_json, semantic, WireError};
use serde_json::{json, Map, Value};

use super::files::resource::rfc3339;
use crate::http::auth::Authenticated;
use crate::http::body::LimitedBody;
use crate::http::error::ErrorResponse;
use crate::http::json::json_response;
use crate::http::query::RequestQuery;
use crate::http::state::AppState;
use crate::service::access::Caller;
use crate::service::caches::expiry::{self, CREATE_FIELDS};
use crate::service::caches::{cached_part, new_id, CacheError, Caches};
use crate::service::catalog::ModelSpec;
use crate::service::error::ApiError;
use crate::service::version::ApiVersion;
use crate::service::{estimate, generation};

const DEFAULT_PAGE_SIZE: i64 = 10;
const MAX_PAGE_SIZE: i64 = 1000;
const MAX_DISPLAY_NAME: usize = 128;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/cachedContents", get(list).post(create))
        .route("/{version}/cachedContents/{id}", get(read).patch(update).delete(delete))
}

impl AppState {
    pub fn caches(&self) -> Caches {
        Caches { store: self.access.store.clone() }
    }
}

/// The `CachedContent` resource as answered.
fn resource(c: &StoredCache) -> Value {
    let mut v = json!({
        "name": format!("cachedContents/{}", c.id),
        "model": c.model,
        "createTime": rfc3339(c.created_at_ms),
        "updateTime": rfc3339(c.updated_at_ms),
        "expireTime": rfc3339(c.expires_at_ms),
        "usageMetadata": {"totalTokenCount": c.total_tokens},
    });
    if !c.display_name.is_empty() {
        v["displayName"] = json!(c.display_name);
    }
    v
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match parse_json(bytes)? {
        Value::Object(o) => Ok(o),
        _ => {
            Err(WireError::Semantic(vec![semantic("cached_content", "the body must be a CachedContent object.")])
                .into())
        }
    }
}

fn string<'a>(o: &'a Map<String, Value>, json: &str, proto: &str) -> Option<&'a str> {
    o.get(json).or_else(|| o.get(proto)).and_then(Value::as_str)
}

/// The generative id a creation names, as the catalog knows it.
fn model_spec(state: &AppState, version: ApiVersion, model: &str) -> Result<std::sync::Arc<ModelSpec>, ApiError> {
    let spec = match state.catalog.route(model) {
        Some(route) => Some(route.spec.clone()),
        None => state.catalog.get(model).map(|s| s.spec.clone()),
    };
    spec.ok_or_else(|| ApiError::model_not_found(version, model, "createCachedContent"))
}

/// The tokens the cached part is on its model: the local tokenizer's count of the prompt it
/// renders to (declared functions included, as countTokens counts), or gemd's estimate for an
/// id served by upstreams.
async fn cache_tokens(state: &AppState, caller: &Caller, spec: &ModelSpec, part: &Bytes) -> Result<u32, ApiError> {
    let req = parse_generate(part)?;
    state.access.admit_count_tokens(caller, &spec.id).await?;
    if state.catalog.route(&spec.id).is_some() {
        return Ok(estimate::prompt_tokens(&parse_json(part)?).min(u32::MAX as u64) as u32);
    }
    let served = state.catalog.get(&spec.id).expect("the spec came from the catalog");
    let prompt = super::model_prompt(&req, served)?;
    Ok(generation::tokenize(served, prompt, None).await?.len() as u32)
}

async fn create(
    auth: Authenticated,
    Path(version): Path<String>,
    State(state): State<AppState>,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    let version = ApiVersion::parse(&version)?;
    let caller = &auth.caller;
    let body = object(&body.bytes().await?)?;
    let model = string(&body, "model", "model").filter(|m| !m.is_empty()).ok_or(CacheError::NoModel)?;
    let spec = model_spec(&state, version, model)?;
    let display_name = string(&body, "displayName", "display_name").unwrap_or("").to_string();
    if display_name.chars().count() > MAX_DISPLAY_NAME {
        return Err(CacheError::DisplayNameTooLong.into());
    }
    let now = state.access.now_ms();
    let ttl = string(&body, "ttl", "ttl");
    let expires_at_ms = expiry::expiry(ttl, string(&body, "expireTime", "expire_time"), now, CREATE_FIELDS)?;
    // Files the cached contents name are read in now, as a request's would be.
    let part = Bytes::from(cached_part(&body).to_string());
    let part = state.files.resolve_parts(&caller.project_id, part).await?;
    let total = cache_tokens(&state, caller, &spec, &part).await?;
    let min = spec.generative().map_or(0, |g| g.min_cache_tokens);
    if total < min {
        return Err(CacheError::TooSmall { total, min }.into());
    }
    let cache = StoredCache {
        id: new_id(),
        project_id: caller.project_id.clone(),
        model: format!("models/{}", spec.id),
        display_name,
        body: String::from_utf8_lossy(&part).into_owned(),
        total_tokens: total as i64,
        created_at_ms: now,
        updated_at_ms: now,
        expires_at_ms,
    };
    state.caches().insert(&cache).await?;
    Ok(json_response(StatusCode::OK, &resource(&cache)))
}

async fn list(
    auth: Authenticated,
    Path(version): Path<String>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let q = RequestQuery::parse(raw.as_deref().unwrap_or(""));
    let page_size = q.page_size(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|value| {
        ApiError::from(CacheError::BadValue { field: "page_size", value, expected: "expected a positive integer." })
    })?;
    let page = state.caches().list(&auth.caller.project_id, page_size, q.page_token.as_deref()).await?;
    // Expired caches the sweeper has not reached yet are not listed.
    let now = state.access.now_ms();
    let caches: Vec<Value> = page.caches.iter().filter(|c| c.expires_at_ms > now).map(resource).collect();
    let mut body = json!({});
    if !caches.is_empty() {
        body["cachedContents"] = Value::Array(caches);
    }
    if let Some(token) = page.next_cursor {
        body["nextPageToken"] = json!(token);
    }
    Ok(json_response(StatusCode::OK, &body))
}

async fn read(
    auth: Authenticated,
    Path((version, id)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let cache = state.caches().get(&auth.caller.project_id, &id, state.access.now_ms()).await?;
    Ok(json_response(StatusCode::OK, &resource(&cache)))
}

/// `PATCH ?updateMask=ttl|expireTime`: only the expiry changes. Without a mask, the expiry
/// field the body sets is the one changed (what the SDKs send).
async fn update(
    auth: Authenticated,
    Path((version, id)): Path<(String, String)>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let q = RequestQuery::parse(raw.as_deref().unwrap_or(""));
    let body = object(&body.bytes().await?)?;
    let mut ttl = string(&body, "ttl", "ttl");
    let mut expire_time = string(&body, "expireTime", "expire_time");
    if let Some(mask) = q.update_mask.as_deref().filter(|m| !m.is_empty()) {
        let (mut wants_ttl, mut wants_time) = (false, false);
        for field in mask.split(',').map(str::trim) {
            match field {
                "ttl" => wants_ttl = true,
                "expireTime" | "expire_time" => wants_time = true,
                _ => return Err(ApiError::from(CacheError::BadUpdateMask { mask: mask.to_string() }).into()),
            }
        }
        ttl = ttl.filter(|_| wants_ttl);
        expire_time = expire_time.filter(|_| wants_time);
    }
    let now = state.access.now_ms();
    let fields = expiry::Fields { ttl: "ttl", expire_time: "expire_time" };
    let caches = state.caches();
    let cache = match (ttl, expire_time) {
        (None, None) => caches.get(&auth.caller.project_id, &id, now).await?,
        (ttl, time) => {
            let expires_at_ms = expiry::expiry(ttl, time, now, fields)?;
            caches.set_expiry(&auth.caller.project_id, &id, expires_at_ms, now).await?
        }
    };
    Ok(json_response(StatusCode::OK, &resource(&cache)))
}

async fn delete(
    auth: Authenticated,
    Path((version, id)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    state.caches().delete(&auth.caller.project_id, &id, state.access.now_ms()).await?;
    Ok(json_response(StatusCode::OK, &json!({})))
}
