//! The OpenAI layer's `files` objects: the file object, its list page and the deletion answer,
//! in OpenAI's shape (times in Unix seconds, `bytes`, `filename`, `purpose`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenAiFile {
    pub id: String,
    pub object: String,
    pub bytes: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub filename: String,
    pub purpose: String,
    /// `processed` once the upload is whole (gemd has no later processing step).
    pub status: String,
}

/// `GET files`: one page, with `has_more` for the SDK's `after` cursor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenAiFileList {
    pub object: String,
    pub data: Vec<OpenAiFile>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
}

impl OpenAiFileList {
    pub fn new(data: Vec<OpenAiFile>, has_more: bool) -> Self {
        let first_id = data.first().map(|f| f.id.clone());
        let last_id = data.last().map(|f| f.id.clone());
        OpenAiFileList { object: "list".into(), data, has_more, first_id, last_id }
    }
}

/// `DELETE files/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenAiFileDeleted {
    pub id: String,
    pub object: String,
    pub deleted: bool,
}
