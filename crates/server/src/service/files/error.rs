//! The Files API's refusals, each with its `google.rpc` code ([`FileError::code`]): what a
//! client can get wrong about a file, an upload session or a `fileData` part.

use gemd_store::blobs::BlobError;
use gemd_wire::rpc::Code;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Unknown, another project's, or expired: Google answers all three alike, so a key never
    /// learns whether another project's file exists (wording UNCONFIRMED; see the spec §3).
    #[error("You do not have permission to access the File {id} or it may not exist.")]
    NoAccess { id: String },
    #[error("Invalid file name \"{name}\": a file id is 1 to 40 characters of [a-z0-9-], not starting or ending with a dash.")]
    InvalidName { name: String },
    #[error("File files/{id} already exists.")]
    AlreadyExists { id: String },
    /// An `upload_id` that names no open session (never, finished, cancelled or expired).
    #[error("The upload session is unknown: it was finished, cancelled or has expired. Start a new upload.")]
    UnknownUpload,
    #[error("X-Goog-Upload-Offset is {offset} but the upload session has received {received} bytes; query the session (X-Goog-Upload-Command: query) and resume from X-Goog-Upload-Size-Received.")]
    WrongOffset { offset: u64, received: u64 },
    #[error("The upload was finalized with {received} bytes but its start declared X-Goog-Upload-Header-Content-Length: {declared}.")]
    SizeMismatch { declared: u64, received: u64 },
    #[error("The upload declared or sent more than its X-Goog-Upload-Header-Content-Length of {declared} bytes.")]
    OverDeclared { declared: u64 },
    #[error("The file is larger than the limit of {limit} bytes per file.")]
    FileTooLarge { limit: u64 },
    #[error("The project's files would hold more than its storage limit of {limit} bytes. Delete files or wait for them to expire.")]
    ProjectFull { limit: u64 },
    /// An upload header that is missing or not what the protocol takes.
    #[error("Invalid upload request: {problem}")]
    BadUpload { problem: String },
    /// The upload body could not be read (cut off, too slow); what arrived before is kept.
    #[error("The upload body could not be read: {cause}")]
    BodyRead { cause: String },
    #[error("The File {id} is not ACTIVE (its state is {state}); wait for it to finish processing.")]
    NotActive { id: String, state: String },
    #[error("The File {id} cannot be downloaded: only generated files can be downloaded.")]
    NotDownloadable { id: String },
    #[error("Invalid or unsupported file uri: {uri}")]
    InvalidUri { uri: String, field: String },
    /// A file gemd cannot read as prompt text (a PDF without a text layer, text not UTF-8).
    #[error("The File {id} ({mime}) cannot be read as text: {reason}")]
    Unreadable { id: String, mime: String, reason: String, field: String },
    #[error("Invalid page token.")]
    PageToken,
    #[error("Invalid pageSize {value}: expected a positive integer.")]
    PageSize { value: String },
    /// Storage failed under a request; the detail is logged, never answered.
    #[error("The file storage failed.")]
    Storage(#[from] BlobError),
}

impl FileError {
    pub fn code(&self) -> Code {
        use FileError::*;
        match self {
            NoAccess { .. } => Code::PermissionDenied,
            AlreadyExists { .. } => Code::AlreadyExists,
            UnknownUpload => Code::NotFound,
            ProjectFull { .. } => Code::ResourceExhausted,
            NotActive { .. } | NotDownloadable { .. } => Code::FailedPrecondition,
            InvalidName { .. } | WrongOffset { .. } | SizeMismatch { .. } | OverDeclared { .. } => {
                Code::InvalidArgument
            }
            FileTooLarge { .. } | BadUpload { .. } | BodyRead { .. } | InvalidUri { .. } => Code::InvalidArgument,
            Unreadable { .. } | PageToken | PageSize { .. } => Code::InvalidArgument,
            Storage(_) => Code::Internal,
        }
    }

    /// The request field a refusal names, where it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            FileError::InvalidUri { field, .. } | FileError::Unreadable { field, .. } => Some(field),
            FileError::InvalidName { .. } => Some("file.name"),
            FileError::PageToken => Some("page_token"),
            FileError::PageSize { .. } => Some("page_size"),
            _ => None,
        }
    }

    /// Whether the session stays open after this refusal, so the client may query and resume
    /// (`X-Goog-Upload-Status: active` rather than `final`).
    pub fn session_survives(&self) -> bool {
        matches!(self, FileError::WrongOffset { .. } | FileError::SizeMismatch { .. } | FileError::BodyRead { .. })
    }
}
