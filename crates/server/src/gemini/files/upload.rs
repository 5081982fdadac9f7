//! `POST /upload/{version}/files`: Google's upload protocols. Resumable (what both SDKs use):
//! `start` opens a session and answers its URL, whose path and query alone identify it (the
//! SDKs keep them and put their own base URL in front); chunks then arrive there, with no key
//! (python-genai sends none: the unguessable `upload_id` is the credential), as `upload`,
//! `upload, finalize`, `query` or `cancel`. `uploadType=media` and `uploadType=multipart`
//! (older clients) upload in one request. Every answer, refusals included, carries
//! `X-Goog-Upload-Status` (`active`, `final` or `cancelled`): without it the SDKs retry.

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{envelope, multipart, new_upload};
use crate::http::auth::Authenticated;
use crate::http::body::read_limited;
use crate::http::error::{ErrorResponse, HttpError};
use crate::http::json::json_response;
use crate::http::state::AppState;
use crate::service::access::Caller;
use crate::service::error::ApiError;
use crate::service::files::upload::{BodyStream, NewUpload, Progress};
use crate::service::files::FileError;
use crate::service::version::ApiVersion;

/// Chunks other than the last should be multiples of this (Google's granularity; gemd
/// accepts any size, and says so to clients that align their chunks).
const CHUNK_GRANULARITY: &str = "262144";
/// The largest metadata body of a start (a few hundred bytes in practice).
const START_BODY_LIMIT: usize = 64 * 1024;

/// `X-Goog-Upload-Status` values.
const ACTIVE: &str = "active";
const FINAL: &str = "final";
const CANCELLED: &str = "cancelled";

/// What the query string of an upload says.
#[derive(Debug, Default, serde::Deserialize)]
struct UploadQuery {
    upload_id: Option<String>,
    #[serde(rename = "uploadType")]
    upload_type: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn bad(problem: impl Into<String>) -> ApiError {
    FileError::BadUpload { problem: problem.into() }.into()
}

/// A header holding a byte count.
fn count_header(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    header(headers, name)
        .map(|v| v.parse::<u64>().map_err(|_| bad(format!("{name} must be a byte count, not {v:?}"))))
        .transpose()
}

/// `resp` with its upload status (and the session's received count, where known).
fn with_status(mut resp: Response, status: &'static str, received: Option<u64>) -> Response {
    let headers = resp.headers_mut();
    headers.insert("x-goog-upload-status", HeaderValue::from_static(status));
    if let Some(n) = received {
        headers.insert("x-goog-upload-size-received", HeaderValue::from(n));
    }
    resp
}

/// A refusal, with the status that tells the client whether its session goes on.
fn refusal(e: ApiError) -> Response {
    let status = match &e {
        ApiError::File(f) if f.session_survives() => ACTIVE,
        _ => FINAL,
    };
    with_status(ErrorResponse::<crate::http::error::Gemini>::from(e).into_response(), status, None)
}

fn refusal_of(e: HttpError) -> Response {
    with_status(ErrorResponse::<crate::http::error::Gemini>::from(e).into_response(), FINAL, None)
}

/// The request body as the service reads it: pieces, with transport failures in words.
fn body_stream(body: Body) -> BodyStream<'static> {
    body.into_data_stream().map(|piece| piece.map_err(|e| e.to_string())).boxed()
}

pub async fn post(Path(version): Path<String>, State(state): State<AppState>, req: Request) -> Response {
    if let Err(e) = ApiVersion::parse(&version) {
        return refusal(e);
    }
    let query: UploadQuery = serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
    if let Some(upload_id) = query.upload_id.as_deref() {
        return session_command(&state, upload_id, req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match Authenticated::<crate::http::error::Gemini>::from_request_parts(&mut parts, &state).await {
        Ok(auth) => auth.caller,
        Err(e) => return with_status(e.into_response(), FINAL, None),
    };
    let headers = parts.headers;
    let protocol = header(&headers, "x-goog-upload-protocol").unwrap_or("").to_ascii_lowercase();
    let kind = query.upload_type.as_deref().unwrap_or(&protocol).to_ascii_lowercase();
    let answer = match kind.as_str() {
        "resumable" => start(&state, &caller, &headers, body).await,
        "media" | "raw" => media(&state, &caller, &headers, body).await,
        "multipart" => whole_multipart(&state, &caller, &headers, body).await,
        _ => Err(HttpError::from(bad(
            "send X-Goog-Upload-Protocol: resumable (or uploadType=media or uploadType=multipart)",
        ))),
    };
    answer.unwrap_or_else(refusal_of)
}

/// `X-Goog-Upload-Command: start`: opens the session and answers where to send the bytes.
async fn start(state: &AppState, caller: &Caller, headers: &HeaderMap, body: Body) -> Result<Response, HttpError> {
    let command = header(headers, "x-goog-upload-command").unwrap_or("");
    if !command.split(',').any(|c| c.trim().eq_ignore_ascii_case("start")) {
        return Err(bad(format!("a resumable upload begins with X-Goog-Upload-Command: start, not {command:?}")).into());
    }
    let mut new = new_upload(&read_limited(body, START_BODY_LIMIT).await?)?;
    new.declared_size = count_header(headers, "x-goog-upload-header-content-length")?;
    if let Some(mime) = header(headers, "x-goog-upload-header-content-type") {
        new.mime_type = Some(mime.to_string());
    }
    let session = state.files.start_upload(&caller.project_id, new).await?;
    let url = format!(
        "{}/upload/v1beta/files?upload_id={}&upload_protocol=resumable",
        super::resource::base_url(headers),
        session.id
    );
    let mut resp = StatusCode::OK.into_response();
    let h = resp.headers_mut();
    h.insert("x-goog-upload-url", HeaderValue::from_str(&url).map_err(|_| bad("the host header is not a valid URL"))?);
    h.insert("x-goog-upload-chunk-granularity", HeaderValue::from_static(CHUNK_GRANULARITY));
    Ok(with_status(resp, ACTIVE, None))
}

/// A command on an open session: `upload[, finalize]`, `finalize`, `query` or `cancel`.
async fn session_command(state: &AppState, upload_id: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let command = header(headers, "x-goog-upload-command").unwrap_or("").to_ascii_lowercase();
    let commands: Vec<&str> = command.split(',').map(str::trim).collect();
    let has = |c: &str| commands.contains(&c);
    let files = &state.files;
    if has("cancel") {
        return match files.cancel_upload(upload_id).await {
            Ok(()) => with_status(StatusCode::OK.into_response(), CANCELLED, None),
            Err(e) => refusal(e),
        };
    }
    if has("query") {
        return match files.session(upload_id).await {
            Ok(s) => {
                let mut resp = StatusCode::OK.into_response();
                resp.headers_mut()
                    .insert("x-goog-upload-chunk-granularity", HeaderValue::from_static(CHUNK_GRANULARITY));
                with_status(resp, ACTIVE, Some(s.received as u64))
            }
            Err(e) => refusal(e),
        };
    }
    if !(has("upload") || has("finalize")) {
        return refusal(bad(format!(
            "X-Goog-Upload-Command must be upload, \"upload, finalize\", finalize, query or cancel, not {command:?}"
        )));
    }
    let offset = match count_header(headers, "x-goog-upload-offset") {
        Ok(Some(offset)) => offset,
        // A bare `finalize` sends no bytes: it finalises what was received.
        Ok(None) if !has("upload") => match files.session(upload_id).await {
            Ok(s) => s.received as u64,
            Err(e) => return refusal(e),
        },
        Ok(None) => return refusal(bad("an upload command needs X-Goog-Upload-Offset")),
        Err(e) => return refusal(e),
    };
    match files.upload_chunk(upload_id, offset, body_stream(body), has("finalize")).await {
        Ok(Progress::Active { received }) => with_status(StatusCode::OK.into_response(), ACTIVE, Some(received)),
        Ok(Progress::Final(file)) => {
            let received = file.size_bytes as u64;
            with_status(json_response(StatusCode::OK, &envelope(&file, headers)), FINAL, Some(received))
        }
        Err(e) => refusal(e),
    }
}

/// `uploadType=media`: the body is the file, its type the `Content-Type`.
async fn media(state: &AppState, caller: &Caller, headers: &HeaderMap, body: Body) -> Result<Response, HttpError> {
    let mime = header(headers, "content-type").map(str::to_string);
    let new = NewUpload { mime_type: mime, ..Default::default() };
    let file = state.files.upload_whole(&caller.project_id, new, body_stream(body)).await?;
    Ok(with_status(json_response(StatusCode::OK, &envelope(&file, headers)), FINAL, None))
}

/// `uploadType=multipart`: `multipart/related`, the metadata JSON then the file. Read whole
/// under the public body limit (streamed uploads of large files use the other protocols).
async fn whole_multipart(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let content_type = header(headers, "content-type").unwrap_or("");
    let boundary = multipart::boundary(content_type)
        .ok_or_else(|| bad("a multipart upload needs Content-Type: multipart/related; boundary=…"))?;
    let bytes = read_limited(body, state.limits.max_body_bytes).await?;
    let (metadata, media) = multipart::split(&bytes, &boundary).map_err(|e| bad(e.to_string()))?;
    let mut new = new_upload(&metadata.body)?;
    if new.mime_type.is_none() {
        new.mime_type = media.content_type.clone();
    }
    let piece = futures::stream::once(async move { Ok(media.body) }).boxed();
    let file = state.files.upload_whole(&caller.project_id, new, piece).await?;
    Ok(with_status(json_response(StatusCode::OK, &envelope(&file, headers)), FINAL, None))
}
