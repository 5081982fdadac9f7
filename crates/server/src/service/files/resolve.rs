//! `fileData` parts (and inline PDFs) made readable for a text model, before a request is
//! parsed by whichever route serves it (local models and upstreams alike): each `fileData`
//! naming a file of the caller's project that reads as text becomes a `text` part holding its
//! text, so it counts as prompt tokens like any text; an unknown, foreign, expired or
//! unfinished file is refused here with Google's errors. Media files are left as they are,
//! for the backend's own check (a clear 400 naming the part where it cannot see them).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use gemd_store::FileState;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::document::{self, DocumentError, Reading};
use super::error::FileError;
use super::{id, Files};
use crate::service::error::ApiError;

/// The most bytes of one file read into a prompt: far past any model's context, so only a
/// file no model could read whole is refused for size.
const MAX_PROMPT_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// The keys of a request that hold contents, in both spellings the wire accepts.
const CONTENT_LISTS: [&str; 1] = ["contents"];
const SINGLE_CONTENTS: [&str; 2] = ["systemInstruction", "system_instruction"];
const NESTED_REQUESTS: [&str; 2] = ["generateContentRequest", "generate_content_request"];

/// A member of a JSON object by either of its spellings (none for a non-object).
fn member<'a>(value: &'a Value, names: [&str; 2]) -> Option<&'a Value> {
    names.iter().find_map(|n| value.get(*n))
}

impl Files {
    /// `body` with its readable files and inline PDFs turned into text parts; the body as it
    /// came when it has none (or is not JSON: the route's parser says what is wrong with it).
    pub async fn resolve_parts(&self, project_id: &str, body: Bytes) -> Result<Bytes, ApiError> {
        let mentions = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        if !(mentions(b"fileData") || mentions(b"file_data") || mentions(b"application/pdf")) {
            return Ok(body);
        }
        let Ok(mut request) = serde_json::from_slice::<Value>(&body) else { return Ok(body) };
        if !self.resolve_request(project_id, &mut request).await? {
            return Ok(body);
        }
        Ok(Bytes::from(serde_json::to_vec(&request).map_err(ApiError::InvalidJson)?))
    }

    /// Resolves the parts of one request object; whether any changed.
    async fn resolve_request(&self, project_id: &str, request: &mut Value) -> Result<bool, ApiError> {
        let Some(obj) = request.as_object_mut() else { return Ok(false) };
        let mut changed = false;
        for key in NESTED_REQUESTS {
            if let Some(inner) = obj.get_mut(key) {
                changed |= Box::pin(self.resolve_request(project_id, inner)).await?;
            }
        }
        for key in CONTENT_LISTS {
            if let Some(Value::Array(contents)) = obj.get_mut(key) {
                for (i, content) in contents.iter_mut().enumerate() {
                    changed |= self.resolve_content(project_id, content, &format!("contents[{i}]")).await?;
                }
            }
        }
        for key in SINGLE_CONTENTS {
            if let Some(content) = obj.get_mut(key) {
                changed |= self.resolve_content(project_id, content, "system_instruction").await?;
            }
        }
        Ok(changed)
    }

    async fn resolve_content(&self, project_id: &str, content: &mut Value, at: &str) -> Result<bool, ApiError> {
        let Some(Value::Array(parts)) = content.get_mut("parts") else { return Ok(false) };
        let mut changed = false;
        for (j, part) in parts.iter_mut().enumerate() {
            let field = format!("{at}.parts[{j}]");
            let text = if let Some(file) = member(part, ["fileData", "file_data"]) {
                self.file_part_text(project_id, file, &field).await?
            } else if let Some(blob) = member(part, ["inlineData", "inline_data"]) {
                inline_pdf_text(blob, &field).await?
            } else {
                None
            };
            if let Some(text) = text {
                *part = serde_json::json!({ "text": text });
                changed = true;
            }
        }
        Ok(changed)
    }

    /// The text of the file a `fileData` names, or `None` when it is media.
    async fn file_part_text(
        &self,
        project_id: &str,
        file_data: &Value,
        field: &str,
    ) -> Result<Option<String>, ApiError> {
        let uri_field = format!("{field}.file_data.file_uri");
        let uri = member(file_data, ["fileUri", "file_uri"]).and_then(Value::as_str).unwrap_or("").to_string();
        let file = self.get(project_id, &id::uri_id(&uri, &uri_field)?).await?;
        if file.state != FileState::Active {
            return Err(FileError::NotActive { id: file.id, state: file.state.to_string() }.into());
        }
        let Some(how) = document::reading(&file.mime_type) else { return Ok(None) };
        let unreadable = |reason: String| FileError::Unreadable {
            id: file.id.clone(),
            mime: file.mime_type.clone(),
            reason,
            field: format!("{field}.file_data"),
        };
        if file.size_bytes as u64 > MAX_PROMPT_FILE_BYTES {
            return Err(unreadable(format!("it is larger than {MAX_PROMPT_FILE_BYTES} bytes")).into());
        }
        let mut bytes = Vec::with_capacity(file.size_bytes.max(0) as usize);
        let reader = self.content(&file).await?;
        reader.take(MAX_PROMPT_FILE_BYTES).read_to_end(&mut bytes).await.map_err(|e| FileError::Storage(e.into()))?;
        extract(how, bytes).await.map(Some).map_err(|e| unreadable(e.to_string()).into())
    }
}

/// The text of an inline PDF; `None` for any other inline data (read where it always was).
async fn inline_pdf_text(blob: &Value, field: &str) -> Result<Option<String>, ApiError> {
    let mime = member(blob, ["mimeType", "mime_type"]).and_then(Value::as_str);
    if document::reading(mime.unwrap_or("")) != Some(Reading::Pdf) {
        return Ok(None);
    }
    let data = blob.get("data").and_then(Value::as_str).unwrap_or("");
    let unreadable = |reason: String| FileError::Unreadable {
        id: "inline data".into(),
        mime: "application/pdf".into(),
        reason,
        field: format!("{field}.inline_data"),
    };
    let bytes = STANDARD.decode(data.trim()).map_err(|e| unreadable(format!("its data is not base64 ({e})")))?;
    extract(Reading::Pdf, bytes).await.map(Some).map_err(|e| unreadable(e.to_string()).into())
}

/// Reads a document's text off the async workers (a PDF is CPU work); a parser that panics
/// on a malformed document is a refusal of that document, not a crash.
async fn extract(how: Reading, bytes: Vec<u8>) -> Result<String, DocumentError> {
    tokio::task::spawn_blocking(move || document::text(how, bytes))
        .await
        .unwrap_or_else(|_| Err(DocumentError::Pdf("the PDF parser failed on this document".into())))
}
