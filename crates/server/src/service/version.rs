//! The Gemini API versions gemd answers to (`/v1beta` and `/v1` serve the same methods). A
//! version is parsed once, where a path names it; refusals that name one carry this type.

use std::fmt;

use super::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1Beta,
    V1,
}

impl ApiVersion {
    /// The version a path names, or the refusal of one gemd does not serve.
    pub fn parse(version: &str) -> Result<Self, ApiError> {
        match version {
            "v1beta" => Ok(ApiVersion::V1Beta),
            "v1" => Ok(ApiVersion::V1),
            _ => Err(ApiError::VersionNotServed { version: version.to_string() }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1Beta => "v1beta",
            ApiVersion::V1 => "v1",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
