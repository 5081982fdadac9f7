//! Stored files as the wire's File resource: names and URIs on the base URL the client
//! reached gemd by (so a `uri` it puts back in a `fileData` part names this server), times in
//! RFC 3339 with microseconds as Google writes them.

use axum::http::{header, HeaderMap};
use chrono::{DateTime, SecondsFormat};
use gemd_store::StoredFile;
use gemd_wire::files::File;

/// `scheme://host[:port]` of the request: its `Host` (or `X-Forwarded-Host`) header, with
/// `X-Forwarded-Proto`'s scheme behind a proxy, else `http`.
pub fn base_url(headers: &HeaderMap) -> String {
    let read =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or(v).trim());
    let host = read("x-forwarded-host").or_else(|| read(header::HOST.as_str())).unwrap_or("localhost");
    let scheme = read("x-forwarded-proto").filter(|s| *s == "https" || *s == "http").unwrap_or("http");
    format!("{scheme}://{host}")
}

pub(crate) fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn wire_file(f: &StoredFile, base: &str) -> File {
    let uri = format!("{base}/v1beta/files/{}", f.id);
    File {
        name: format!("files/{}", f.id),
        display_name: f.display_name.clone(),
        mime_type: f.mime_type.clone(),
        size_bytes: f.size_bytes.to_string(),
        create_time: rfc3339(f.created_at_ms),
        update_time: rfc3339(f.updated_at_ms),
        expiration_time: rfc3339(f.expires_at_ms),
        sha256_hash: f.sha256_base64.clone(),
        download_uri: (f.source == gemd_store::FileSource::Generated).then(|| format!("{uri}:download?alt=media")),
        uri,
        state: f.state.to_string(),
        source: f.source.to_string(),
        error: f.error.as_ref().map(|message| serde_json::json!({ "message": message })),
    }
}
