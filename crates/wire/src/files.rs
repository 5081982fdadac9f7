//! The Files API's messages: the File resource as the real service answers it (lowerCamel,
//! `sizeBytes` an int64 string, times RFC 3339, the digest base64), and the bodies around it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct File {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mime_type: String,
    pub size_bytes: String,
    pub create_time: String,
    pub update_time: String,
    pub expiration_time: String,
    pub sha256_hash: String,
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_uri: Option<String>,
    pub state: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

/// What a client may set when it creates a file (the `file` of an upload's start or of
/// `files.create`); everything else is the server's. proto3 JSON takes both spellings of a
/// field, and python-genai sends the `file` of an upload's start in snake_case.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, alias = "display_name")]
    pub display_name: Option<String>,
    #[serde(default, alias = "mime_type")]
    pub mime_type: Option<String>,
}

/// `{"file": …}`: the body of an upload's start and of `files.create`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct CreateFileRequest {
    #[serde(default)]
    pub file: Option<FileRequest>,
}

/// `{"file": File}`: the answer of a finished upload and of `files.create`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileEnvelope {
    pub file: File,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListFilesResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<File>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
