//! The Files API over raw HTTP: the resumable protocol step by step (chunks, a wrong offset,
//! query and resume, cancel, every answer's `X-Goog-Upload-Status`), media and multipart
//! uploads, get/list/delete, isolation between projects, expired files, and `fileData` parts
//! read into the prompt (the scripted engine counts one token per word).

use gemd_store::{FileSource, FileState, StoredFile, Tier};
use reqwest::Response;
use serde_json::{json, Value};

use crate::harness::{TestServer, KEY};

fn status_of(r: &Response) -> String {
    r.headers().get("x-goog-upload-status").and_then(|v| v.to_str().ok()).unwrap_or("(none)").to_string()
}

/// Starts a resumable upload with `key`; the session URL's path and query.
async fn start(s: &TestServer, key: &str, file: Value, size: Option<usize>, mime: &str) -> (Response, String) {
    let mut req = s
        .http
        .post(format!("{}/upload/v1beta/files", s.base))
        .header("x-goog-api-key", key)
        .header("x-goog-upload-protocol", "resumable")
        .header("x-goog-upload-command", "start")
        .header("x-goog-upload-header-content-type", mime)
        .json(&json!({ "file": file }));
    if let Some(n) = size {
        req = req.header("x-goog-upload-header-content-length", n.to_string());
    }
    let resp = req.send().await.unwrap();
    let url = resp.headers().get("x-goog-upload-url").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    // The SDKs keep the path and query and put their own base URL in front.
    let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default();
    (resp, path)
}

/// A command on a session, with no key (python-genai sends none).
async fn command(s: &TestServer, path: &str, cmd: &str, offset: Option<usize>, bytes: &[u8]) -> Response {
    let mut req = s.http.post(format!("{}{path}", s.base)).header("x-goog-upload-command", cmd).body(bytes.to_vec());
    if let Some(o) = offset {
        req = req.header("x-goog-upload-offset", o.to_string());
    }
    req.send().await.unwrap()
}

async fn upload_text(s: &TestServer, key: &str, name: Option<&str>, text: &str) -> Value {
    let file = match name {
        Some(n) => json!({"name": n, "displayName": "notes"}),
        None => json!({"displayName": "notes"}),
    };
    let (resp, path) = start(s, key, file, Some(text.len()), "text/plain").await;
    assert_eq!(resp.status(), 200);
    let done = command(s, &path, "upload, finalize", Some(0), text.as_bytes()).await;
    assert_eq!((done.status().as_u16(), status_of(&done)), (200, "final".to_string()));
    done.json::<Value>().await.unwrap()["file"].clone()
}

async fn key_of_another_project(s: &TestServer) -> String {
    let store = &s.access.store;
    let p = store.create_project(Some("other"), "Other", Tier::Free).await.unwrap();
    store.create_key(&p.id, "k").await.unwrap().secret
}

/// POST `path` with `key` and a body of `content_type`.
async fn post_as(s: &TestServer, key: &str, path: &str, content_type: &str, body: String) -> Response {
    let req = s.http.post(format!("{}{path}", s.base)).header("x-goog-api-key", key);
    req.header("content-type", content_type).body(body).send().await.unwrap()
}

async fn get_as(s: &TestServer, key: &str, path: &str) -> (u16, Value) {
    let resp = s.http.get(format!("{}{path}", s.base)).header("x-goog-api-key", key).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_chunked_upload_resumes_after_a_wrong_offset_and_a_query() {
    let s = TestServer::scripted().await;
    let content: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let (resp, path) = start(
        &s,
        KEY,
        json!({"displayName": "blob", "name": "files/big-one"}),
        Some(content.len()),
        "application/octet-stream",
    )
    .await;
    assert_eq!((resp.status().as_u16(), status_of(&resp)), (200, "active".to_string()));
    assert_eq!(resp.headers()["x-goog-upload-chunk-granularity"], "262144");
    assert!(path.starts_with("/upload/v1beta/files?upload_id="), "{path}");

    let first = command(&s, &path, "upload", Some(0), &content[..262_144]).await;
    assert_eq!((first.status().as_u16(), status_of(&first)), (200, "active".to_string()));
    assert_eq!(first.headers()["x-goog-upload-size-received"], "262144");

    // A chunk at the wrong offset is refused, and the session goes on.
    let wrong = command(&s, &path, "upload", Some(1000), &content[1000..2000]).await;
    assert_eq!((wrong.status().as_u16(), status_of(&wrong)), (400, "active".to_string()));
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert!(body["error"]["message"].as_str().unwrap().contains("has received 262144 bytes"), "{body}");

    let query = command(&s, &path, "query", None, b"").await;
    assert_eq!((query.status().as_u16(), status_of(&query)), (200, "active".to_string()));
    let received: usize = query.headers()["x-goog-upload-size-received"].to_str().unwrap().parse().unwrap();
    assert_eq!(received, 262_144);

    // The digest survives the service forgetting the session (as after a restart).
    let second = command(&s, &path, "upload", Some(received), &content[received..524_288]).await;
    assert_eq!(status_of(&second), "active");
    let last = command(&s, &path, "upload, finalize", Some(524_288), &content[524_288..]).await;
    assert_eq!((last.status().as_u16(), status_of(&last)), (200, "final".to_string()));
    let file = last.json::<Value>().await.unwrap()["file"].clone();
    assert_eq!(file["name"], "files/big-one");
    assert_eq!(file["sizeBytes"], "700000");
    assert_eq!((file["state"].as_str(), file["source"].as_str()), (Some("ACTIVE"), Some("UPLOADED")));
    use base64::Engine as _;
    use sha2::Digest as _;
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&content));
    assert_eq!(file["sha256Hash"], sha);
    assert_eq!(file["uri"], format!("{}/v1beta/files/big-one", s.base));

    // The session is over: further commands are refused as final.
    let after = command(&s, &path, "query", None, b"").await;
    assert_eq!((after.status().as_u16(), status_of(&after)), (404, "final".to_string()));
    let (_, again) = start(&s, KEY, json!({"name": "files/big-one"}), Some(1), "text/plain").await;
    assert!(again.is_empty(), "a taken name opens no session");
}

#[tokio::test]
async fn a_size_that_disagrees_and_a_cancel_and_an_unknown_session_are_refused() {
    let s = TestServer::scripted().await;
    let (_, path) = start(&s, KEY, json!({}), Some(10), "text/plain").await;
    let short = command(&s, &path, "upload, finalize", Some(0), b"12345").await;
    assert_eq!((short.status().as_u16(), status_of(&short)), (400, "active".to_string()));
    assert!(short.text().await.unwrap().contains("declared X-Goog-Upload-Header-Content-Length: 10"));
    let over = command(&s, &path, "upload", Some(5), b"678901234567").await;
    assert_eq!((over.status().as_u16(), status_of(&over)), (400, "final".to_string()));

    let (_, path) = start(&s, KEY, json!({}), None, "text/plain").await;
    assert_eq!(status_of(&command(&s, &path, "upload", Some(0), b"abc").await), "active");
    let cancel = command(&s, &path, "cancel", None, b"").await;
    assert_eq!((cancel.status().as_u16(), status_of(&cancel)), (200, "cancelled".to_string()));
    let gone = command(&s, &path, "upload", Some(3), b"d").await;
    assert_eq!((gone.status().as_u16(), status_of(&gone)), (404, "final".to_string()));

    let unknown = command(&s, "/upload/v1beta/files?upload_id=nope", "query", None, b"").await;
    assert_eq!((unknown.status().as_u16(), status_of(&unknown)), (404, "final".to_string()));
    let bad = command(&s, &path, "dance", None, b"").await;
    assert_eq!((bad.status().as_u16(), status_of(&bad)), (400, "final".to_string()));
    let (bad_name, _) = start(&s, KEY, json!({"name": "files/Not_Valid"}), None, "text/plain").await;
    assert_eq!((bad_name.status().as_u16(), status_of(&bad_name)), (400, "final".to_string()));
    let no_key = s
        .http
        .post(format!("{}/upload/v1beta/files", s.base))
        .header("x-goog-upload-protocol", "resumable")
        .send()
        .await
        .unwrap();
    assert_eq!((no_key.status().as_u16(), status_of(&no_key)), (403, "final".to_string()));
}

#[tokio::test]
async fn files_are_listed_in_pages_got_and_deleted_by_their_project_only() {
    let s = TestServer::scripted().await;
    for i in 0..3 {
        upload_text(&s, KEY, Some(&format!("files/doc-{i}")), "some words here").await;
    }
    let (status, page) = s.get_json("/v1beta/files?pageSize=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["files"].as_array().unwrap().len(), 2);
    let token = page["nextPageToken"].as_str().unwrap();
    let (_, rest) = s.get_json(&format!("/v1beta/files?pageSize=2&pageToken={token}")).await;
    assert_eq!(rest["files"].as_array().unwrap().len(), 1);
    assert!(rest.get("nextPageToken").is_none());
    let (status, _) = s.get_json("/v1beta/files?pageToken=garbage").await;
    assert_eq!(status, 400);

    let (status, file) = s.get_json("/v1/files/doc-1").await;
    assert_eq!((status, file["displayName"].as_str()), (200, Some("notes")));

    // Another project sees nothing, and is answered as for a file that does not exist.
    let other = key_of_another_project(&s).await;
    let (status, body) = get_as(&s, &other, "/v1beta/files/doc-1").await;
    assert_eq!((status, body["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));
    assert_eq!(body["error"]["message"], "You do not have permission to access the File doc-1 or it may not exist.");
    let (status, missing) = get_as(&s, KEY, "/v1beta/files/never").await;
    assert_eq!(
        (status, &missing["error"]["message"]),
        (403, &json!("You do not have permission to access the File never or it may not exist."))
    );
    let (_, theirs) = get_as(&s, &other, "/v1beta/files").await;
    assert_eq!(theirs, json!({}));
    let del =
        s.http.delete(format!("{}/v1beta/files/doc-1", s.base)).header("x-goog-api-key", &other).send().await.unwrap();
    assert_eq!(del.status(), 403);

    let del =
        s.http.delete(format!("{}/v1beta/files/doc-1", s.base)).header("x-goog-api-key", KEY).send().await.unwrap();
    assert_eq!((del.status().as_u16(), del.json::<Value>().await.unwrap()), (200, json!({})));
    assert_eq!(s.get_json("/v1beta/files/doc-1").await.0, 403);
    // Uploaded files are not downloadable (only generated ones are, as on Google).
    let (status, body) = s.get_json("/v1beta/files/doc-2:download?alt=media").await;
    assert_eq!((status, body["error"]["status"].as_str()), (400, Some("FAILED_PRECONDITION")));
}

#[tokio::test]
async fn media_multipart_and_metadata_only_uploads_make_files() {
    let s = TestServer::scripted().await;
    let media = post_as(&s, KEY, "/upload/v1beta/files?uploadType=media", "text/csv", "a,b\n1,2\n".into()).await;
    assert_eq!(status_of(&media), "final");
    let file = media.json::<Value>().await.unwrap()["file"].clone();
    assert_eq!((file["mimeType"].as_str(), file["sizeBytes"].as_str()), (Some("text/csv"), Some("8")));

    let body = "--b1\r\nContent-Type: application/json\r\n\r\n{\"file\":{\"displayName\":\"m\"}}\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1--\r\n";
    let related = "multipart/related; boundary=b1";
    let multipart = post_as(&s, KEY, "/upload/v1beta/files?uploadType=multipart", related, body.into()).await;
    assert_eq!(status_of(&multipart), "final");
    let file = multipart.json::<Value>().await.unwrap()["file"].clone();
    assert_eq!((file["displayName"].as_str(), file["sizeBytes"].as_str()), (Some("m"), Some("5")));

    let (status, created) =
        s.post_json("/v1beta/files", r#"{"file": {"name": "files/empty", "displayName": "e"}}"#).await;
    assert_eq!((status, created["file"]["sizeBytes"].as_str()), (200, Some("0")));
    let (status, _) = s.post_json("/v1beta/files", r#"{"file": {"name": "files/empty"}}"#).await;
    assert_eq!(status, 409);
}

fn expired_file(id: &str) -> StoredFile {
    StoredFile {
        id: id.into(),
        project_id: gemd_server::DEFAULT_PROJECT.into(),
        display_name: String::new(),
        mime_type: "text/plain".into(),
        size_bytes: 0,
        sha256_base64: String::new(),
        state: FileState::Active,
        source: FileSource::Uploaded,
        error: None,
        created_at_ms: 1,
        updated_at_ms: 1,
        expires_at_ms: 2,
    }
}

#[tokio::test]
async fn file_data_parts_read_the_callers_files_as_prompt_text() {
    let s = TestServer::scripted().await;
    let file = upload_text(&s, KEY, Some("files/words"), "alpha beta gamma delta epsilon").await;
    let uri = file["uri"].as_str().unwrap().to_string();
    let count = |uri: &str| {
        json!({"contents": [{"parts": [{"text": "read"}, {"fileData": {"fileUri": uri, "mimeType": "text/plain"}}]}]})
            .to_string()
    };
    let (status, counted) = s.post_json("/v1beta/models/gemini-2.5-flash:countTokens", &count(&uri)).await;
    assert_eq!((status, counted["totalTokens"].as_u64()), (200, Some(6)), "{counted}");
    // Any host: clients put back the uri they were given, whatever host they used.
    let elsewhere = "https://generativelanguage.googleapis.com/v1beta/files/words";
    assert_eq!(s.post_json("/v1beta/models/gemini-2.5-flash:countTokens", &count(elsewhere)).await.0, 200);
    let (status, _) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", &count(&uri)).await;
    assert_eq!(status, 200);

    // Unknown, another project's and expired files are refused alike.
    let (status, body) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", &count("files/nope")).await;
    assert_eq!((status, body["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));
    let other = key_of_another_project(&s).await;
    let count_path = "/v1beta/models/gemini-2.5-flash:countTokens";
    let foreign = post_as(&s, &other, count_path, "application/json", count(&uri)).await;
    assert_eq!(foreign.status(), 403);
    s.access.store.insert_file(&expired_file("old")).await.unwrap();
    let (status, _) = s.post_json("/v1beta/models/gemini-2.5-flash:countTokens", &count("files/old")).await;
    assert_eq!(status, 403);
    assert_eq!(s.get_json("/v1beta/files/old").await.0, 403);
    let swept = s.files.sweep().await.unwrap();
    assert_eq!(swept.files, 1);
    assert!(s.access.store.get_file("old").await.unwrap().is_none());

    // A media file keeps today's refusal naming the part.
    let (_, path) = start(&s, KEY, json!({"name": "files/pic"}), None, "image/png").await;
    command(&s, &path, "upload, finalize", Some(0), b"\x89PNG").await;
    let pic = json!({"contents": [{"parts": [{"fileData": {"fileUri": "files/pic", "mimeType": "image/png"}}]}]});
    let (status, body) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", &pic.to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("file_data"), "{body}");
    let bad_uri = json!({"contents": [{"parts": [{"fileData": {"fileUri": "gs://bucket/x"}}]}]});
    let (status, body) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", &bad_uri.to_string()).await;
    assert_eq!(
        (status, body["error"]["details"][0]["fieldViolations"][0]["field"].as_str()),
        (400, Some("contents[0].parts[0].file_data.file_uri"))
    );
}
