//! `files` in the OpenAI layer, as Google serves it under `/v1beta/openai/files`: upload
//! (`multipart/form-data` with `file` and `purpose`), list, retrieve, delete and `content`,
//! in OpenAI's file-object shape, over the same Files service as the native surface (one
//! project's files, whichever surface uploaded them). Ids are the native names (`files/{id}`),
//! as this layer's model ids are `models/{id}`; a bare id is accepted too.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use gemd_store::StoredFile;
use gemd_wire::openai_files::{OpenAiFile, OpenAiFileDeleted, OpenAiFileList};

use super::OpenAiResult;
use crate::gemini::files::{blob_body, multipart};
use crate::http::auth::Authenticated;
use crate::http::body::LimitedBody;
use crate::http::error::OpenAi;
use crate::http::json::json_response;
use crate::http::state::AppState;
use crate::service::error::ApiError;
use crate::service::files::upload::NewUpload;
use crate::service::files::FileError;

/// OpenAI's default and largest `limit` of a listing.
const DEFAULT_LIMIT: usize = 10_000;
/// Files read from the store per page while a listing looks for its `after` id.
const STORE_PAGE: i64 = 100;
/// What a stored file's `purpose` reads as: gemd keeps no purpose (every file may be used
/// for anything), and `user_data` is OpenAI's general one.
const STORED_PURPOSE: &str = "user_data";

fn bad(problem: impl Into<String>) -> ApiError {
    FileError::BadUpload { problem: problem.into() }.into()
}

fn object(f: &StoredFile, purpose: &str) -> OpenAiFile {
    OpenAiFile {
        id: format!("files/{}", f.id),
        object: "file".into(),
        bytes: f.size_bytes,
        created_at: f.created_at_ms / 1000,
        expires_at: f.expires_at_ms / 1000,
        filename: f.display_name.clone(),
        purpose: purpose.into(),
        status: "processed".into(),
    }
}

/// `files/{id}` or `{id}`: the id the service knows.
fn bare(id: &str) -> &str {
    id.strip_prefix("files/").unwrap_or(id)
}

/// `POST files`: the form's `file` (its filename the display name, its type the MIME type)
/// and `purpose`. Read whole under the public body limit, as multipart uploads are natively.
pub async fn create(
    auth: Authenticated<OpenAi>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: LimitedBody<crate::http::body::PublicLimit, OpenAi>,
) -> OpenAiResult<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multipart::boundary_of(content_type, "multipart/form-data")
        .ok_or_else(|| bad("send the file as multipart/form-data"))?;
    let bytes = body.bytes().await?;
    let parts = multipart::parts(&bytes, &boundary).map_err(|e| bad(e.to_string()))?;
    let field = |name: &str| parts.iter().find(|p| p.disposition_param("name") == Some(name));
    let file = field("file").ok_or_else(|| bad("the form has no `file` field"))?;
    let purpose = field("purpose").map(|p| String::from_utf8_lossy(&p.body).trim().to_string());
    let purpose = purpose.filter(|p| !p.is_empty()).ok_or_else(|| bad("the form has no `purpose` field"))?;
    let new = NewUpload {
        display_name: file.disposition_param("filename").map(str::to_string),
        mime_type: file.content_type.clone().filter(|m| !m.is_empty()),
        ..Default::default()
    };
    let piece = file.body.clone();
    let stored = state
        .files
        .upload_whole(&auth.caller.project_id, new, futures::stream::once(async move { Ok(piece) }).boxed())
        .await?;
    Ok(json_response(StatusCode::OK, &object(&stored, &purpose)))
}

/// `GET files?limit=&after=`: the project's files, `limit` of them after the file `after`.
pub async fn list(
    auth: Authenticated<OpenAi>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> OpenAiResult<Response> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n.min(DEFAULT_LIMIT),
            _ => return Err(FileError::PageSize { value: v.to_string() }.into()),
        },
    };
    let mut after = param("after").map(bare);
    let (mut data, mut has_more, mut cursor) = (Vec::new(), false, None);
    loop {
        let page = state.files.list(&auth.caller.project_id, STORE_PAGE, cursor.as_deref()).await?;
        for f in &page.files {
            if let Some(a) = after {
                if f.id == a {
                    after = None;
                }
                continue;
            }
            if data.len() == limit {
                has_more = true;
                break;
            }
            data.push(object(f, STORED_PURPOSE));
        }
        cursor = page.next_cursor;
        if has_more || cursor.is_none() {
            break;
        }
    }
    Ok(json_response(StatusCode::OK, &OpenAiFileList::new(data, has_more)))
}

/// `GET files/{id}` (the file object) or `files/{id}/content` (its bytes).
pub async fn get(
    auth: Authenticated<OpenAi>,
    Path(path): Path<String>,
    State(state): State<AppState>,
) -> OpenAiResult<Response> {
    let project = &auth.caller.project_id;
    if let Some(id) = path.strip_suffix("/content") {
        let (file, reader) = state.files.download(project, bare(id)).await?;
        let mime =
            HeaderValue::from_str(&file.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let length = HeaderValue::from(file.size_bytes);
        return Ok(
            ([(header::CONTENT_TYPE, mime), (header::CONTENT_LENGTH, length)], blob_body(reader)).into_response()
        );
    }
    let file = state.files.get(project, bare(&path)).await?;
    Ok(json_response(StatusCode::OK, &object(&file, STORED_PURPOSE)))
}

pub async fn delete(
    auth: Authenticated<OpenAi>,
    Path(path): Path<String>,
    State(state): State<AppState>,
) -> OpenAiResult<Response> {
    state.files.delete(&auth.caller.project_id, bare(&path)).await?;
    let deleted = OpenAiFileDeleted { id: format!("files/{}", bare(&path)), object: "file".into(), deleted: true };
    Ok(json_response(StatusCode::OK, &deleted))
}
