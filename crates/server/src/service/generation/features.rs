//! The features of a Gemini request that no backend of gemd serves yet, refused the same way
//! whoever answers the id: a local engine or an OpenAI-compatible upstream (a Gemini upstream
//! judges its own requests).

use gemd_wire::gemini::GenerateContentRequest;

use crate::service::error::ApiError;

pub fn check_unserved_features(req: &GenerateContentRequest, model: &str) -> Result<(), ApiError> {
    if req.cached_content.is_some() {
        return Err(ApiError::NotYetSupported { feature: "cachedContent", advice: None, field: "cached_content" });
    }
    if let Some(cfg) = &req.generation_config {
        if cfg.candidate_count.is_some_and(|n| n > 1) {
            return Err(ApiError::NotYetSupported {
                feature: "candidate_count > 1",
                advice: Some("send one request per candidate"),
                field: "generation_config.candidate_count",
            });
        }
        if let Some(m) = cfg.response_modalities.iter().find(|m| m.as_str() != "TEXT") {
            return Err(ApiError::ModalityUnsupported { modality: m.clone(), model: model.to_string() });
        }
    }
    Ok(())
}
