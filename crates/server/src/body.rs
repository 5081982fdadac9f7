//! Reading request bodies under the configured size limit, so an oversized body is answered
//! with the JSON error envelope rather than axum's plain-text rejection.

use axum::body::{to_bytes, Body, Bytes};

use crate::error::ApiError;

pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    to_bytes(body, limit).await.map_err(|e| {
        // `to_bytes` reports a length-limit hit as an error whose source chain names it.
        let text = format!("{e:?}");
        if text.contains("LengthLimit") {
            ApiError::BodyTooLarge { limit }
        } else {
            ApiError::invalid(format!("Could not read the request body: {e}"), None)
        }
    })
}
