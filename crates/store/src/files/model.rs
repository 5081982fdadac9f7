//! The records of the Files API as stored: times in Unix milliseconds, the digest as the
//! base64 the File resource shows, enums as the names the wire uses.

use std::fmt;
use std::str::FromStr;

/// Where a file is in its life (`State` of Google's File resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Processing,
    Active,
    Failed,
}

/// Who made a file: a client's upload or gemd itself (a batch's output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    Uploaded,
    Generated,
}

/// Both enums are stored and answered by their wire names.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(format!("unknown {} \"{other}\"", stringify!($ty))),
                }
            }
        }
    };
}

wire_names!(FileState { Processing => "PROCESSING", Active => "ACTIVE", Failed => "FAILED" });
wire_names!(FileSource { Uploaded => "UPLOADED", Generated => "GENERATED" });

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The `{id}` of `files/{id}`.
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the bytes, standard base64 (as `sha256Hash` shows it).
    pub sha256_base64: String,
    pub state: FileState,
    pub source: FileSource,
    /// Why a `FAILED` file failed.
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
}

/// One page of a listing, and the cursor of the next when there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesPage {
    pub files: Vec<StoredFile>,
    pub next_cursor: Option<String>,
}

/// A resumable upload not finalised yet: what its start declared, and how many bytes are
/// staged durably (the offset the next chunk must start at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    /// The unguessable `upload_id` of the session URL: whoever holds it may send the bytes.
    pub id: String,
    pub project_id: String,
    pub file_id: String,
    pub display_name: String,
    pub mime_type: String,
    /// `X-Goog-Upload-Header-Content-Length`, when the start declared one.
    pub declared_size: Option<i64>,
    pub received: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}
