//! The refusals of context caches, each with its `google.rpc` code ([`CacheError::code`]) and
//! the field it names. Google's wording where its answers show it (the size, override and
//! model messages are the ones its API returns); UNCONFIRMED where noted.

use gemd_wire::rpc::Code;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    /// Unknown, another project's, or expired: answered alike, so a key never learns whether
    /// another project's cache exists (wording UNCONFIRMED).
    #[error("CachedContent not found (or permission denied)")]
    NotFound,
    #[error("Cached content is too small. total_token_count={total}, min_total_token_count={min}")]
    TooSmall { total: u32, min: u32 },
    #[error("CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request.")]
    WithOverrides,
    #[error("Model used by GenerateContent request ({request}) and CachedContent ({cache}) has to be the same!")]
    OtherModel { request: String, cache: String },
    #[error("cached_content.model is required.")]
    NoModel,
    #[error("Invalid value at '{field}' ({value}): {expected}")]
    BadValue { field: &'static str, value: String, expected: &'static str },
    #[error("Only one of ttl and expire_time may be set.")]
    BothExpiries,
    #[error("cached_content.expire_time ({value}) is in the past.")]
    ExpiryPast { value: String },
    #[error("cached_content.display_name is longer than 128 characters.")]
    DisplayNameTooLong,
    /// PATCH may change nothing but the expiry.
    #[error("update_mask may name only ttl or expire_time; got \"{mask}\".")]
    BadUpdateMask { mask: String },
    #[error("Invalid page token.")]
    PageToken,
}

impl CacheError {
    pub fn code(&self) -> Code {
        match self {
            CacheError::NotFound => Code::PermissionDenied,
            _ => Code::InvalidArgument,
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            CacheError::NoModel => Some("cached_content.model"),
            CacheError::BadValue { field, .. } => Some(field),
            CacheError::ExpiryPast { .. } => Some("cached_content.expire_time"),
            CacheError::DisplayNameTooLong => Some("cached_content.display_name"),
            CacheError::BadUpdateMask { .. } => Some("update_mask"),
            CacheError::OtherModel { .. } => Some("model"),
            CacheError::WithOverrides => Some("cached_content"),
            _ => None,
        }
    }
}
