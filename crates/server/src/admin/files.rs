//! A project's uploaded files for the console's Files page: every file with its size and
//! expiry (and the project's total against its limit), and deleting one. The same Files
//! service as the public API, so a file deleted here is gone for the project's keys too.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::session::Admin;
use super::views::time;
use crate::http::error::ErrorResponse;
use crate::http::state::AppState;
use crate::service::error::ApiError;

/// Files read per store page while the whole list is gathered.
const PAGE: i64 = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileView {
    name: String,
    display_name: String,
    mime_type: String,
    size_bytes: i64,
    state: String,
    create_time: String,
    expiration_time: String,
}

impl From<&gemd_store::StoredFile> for FileView {
    fn from(f: &gemd_store::StoredFile) -> Self {
        FileView {
            name: format!("files/{}", f.id),
            display_name: f.display_name.clone(),
            mime_type: f.mime_type.clone(),
            size_bytes: f.size_bytes,
            state: f.state.to_string(),
            create_time: time(f.created_at_ms),
            expiration_time: time(f.expires_at_ms),
        }
    }
}

async fn known_project(state: &AppState, id: &str) -> Result<(), ApiError> {
    state.access.store.get_project(id).await?.ok_or_else(|| ApiError::project_not_found(id))?;
    Ok(())
}

/// `GET /admin/v1/projects/{id}/files`: all of the project's files, newest first as the store
/// lists them, with their total size and the project's limit.
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ErrorResponse> {
    known_project(&state, &id).await?;
    let (mut files, mut cursor) = (Vec::new(), None);
    loop {
        let page = state.files.list(&id, PAGE, cursor.as_deref()).await?;
        files.extend(page.files.iter().map(FileView::from));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let total: i64 = files.iter().map(|f| f.size_bytes).sum();
    let limit = state.files.limits().max_project_bytes;
    Ok(Json(json!({ "files": files, "totalBytes": total, "limitBytes": limit })))
}

/// `DELETE /admin/v1/projects/{id}/files/{file}` (`file` with or without `files/`).
pub async fn delete(
    _: Admin,
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Json<Value>, ErrorResponse> {
    known_project(&state, &id).await?;
    state.files.delete(&id, file.strip_prefix("files/").unwrap_or(&file)).await?;
    Ok(Json(json!({})))
}
