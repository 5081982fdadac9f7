//! The Files API's routes on the native surface: `files.create` (metadata only), `list`,
//! `get`, `delete` and `:download` under `/{version}/files`, and uploads under
//! `/upload/{version}/files` ([`upload`]). The service ([`crate::service::files`]) decides;
//! this module reads the wire and writes the File resource ([`resource`]).

pub(crate) mod multipart;
pub(super) mod resource;
mod upload;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gemd_wire::files::{CreateFileRequest, FileEnvelope, ListFilesResponse};

use crate::http::auth::Authenticated;
use crate::http::body::LimitedBody;
use crate::http::error::ErrorResponse;
use crate::http::json::json_response;
use crate::http::query::RequestQuery;
use crate::http::state::AppState;
use crate::service::error::ApiError;
use crate::service::files::upload::NewUpload;
use crate::service::files::FileError;
use crate::service::version::ApiVersion;

const DEFAULT_PAGE_SIZE: i64 = 10;
const MAX_PAGE_SIZE: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{version}/files", get(list).post(create))
        .route("/{version}/files/{name}", get(get_or_download).delete(delete))
        .route("/upload/{version}/files", post(upload::post))
}

/// `{"file": {...}}` with the metadata a client may set, read from a JSON body (empty is none).
fn new_upload(body: &[u8]) -> Result<NewUpload, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(NewUpload::default());
    }
    let req: CreateFileRequest = serde_json::from_slice(body).map_err(ApiError::InvalidJson)?;
    let file = req.file.unwrap_or_default();
    Ok(NewUpload { name: file.name, display_name: file.display_name, mime_type: file.mime_type, declared_size: None })
}

fn envelope(file: &gemd_store::StoredFile, headers: &HeaderMap) -> FileEnvelope {
    FileEnvelope { file: resource::wire_file(file, &resource::base_url(headers)) }
}

/// `POST /{version}/files`: a file with metadata only (no bytes: an empty file).
async fn create(
    auth: Authenticated,
    Path(version): Path<String>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: LimitedBody,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let new = new_upload(&body.bytes().await?)?;
    let file = state.files.upload_whole(&auth.caller.project_id, new, Box::pin(futures::stream::empty())).await?;
    Ok(json_response(StatusCode::OK, &envelope(&file, &headers)))
}

async fn list(
    auth: Authenticated,
    Path(version): Path<String>,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let q = RequestQuery::parse(raw.as_deref().unwrap_or(""));
    let page_size =
        q.page_size(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|value| ApiError::from(FileError::PageSize { value }))?;
    let page = state.files.list(&auth.caller.project_id, page_size, q.page_token.as_deref()).await?;
    let base = resource::base_url(&headers);
    let files = page.files.iter().map(|f| resource::wire_file(f, &base)).collect();
    Ok(json_response(StatusCode::OK, &ListFilesResponse { files, next_page_token: page.next_cursor }))
}

/// `GET /{version}/files/{id}` (the File) or `/{version}/files/{id}:download` (its bytes).
async fn get_or_download(
    auth: Authenticated,
    Path((version, name)): Path<(String, String)>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    let project = &auth.caller.project_id;
    if let Some(id) = name.strip_suffix(":download") {
        let (file, reader) = state.files.download(project, id).await?;
        let mime =
            HeaderValue::from_str(&file.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let body = blob_body(reader);
        return Ok((
            [(header::CONTENT_TYPE, mime), (header::CONTENT_LENGTH, HeaderValue::from(file.size_bytes))],
            body,
        )
            .into_response());
    }
    let file = state.files.get(project, &name).await?;
    Ok(json_response(StatusCode::OK, &resource::wire_file(&file, &resource::base_url(&headers))))
}

async fn delete(
    auth: Authenticated,
    Path((version, name)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Response, ErrorResponse> {
    ApiVersion::parse(&version)?;
    state.files.delete(&auth.caller.project_id, &name).await?;
    Ok(json_response(StatusCode::OK, &serde_json::json!({})))
}

/// A blob's bytes as a response body, in 64 KiB pieces (never whole in memory).
pub(crate) fn blob_body(reader: gemd_store::blobs::BlobReader) -> Body {
    use tokio::io::AsyncReadExt;
    let pieces = futures::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let mut buf = vec![0u8; 64 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), Some(reader)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Body::from_stream(pieces)
}
