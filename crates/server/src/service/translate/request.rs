//! A Gemini `generateContent` request as a chat-completions body for an OpenAI-compatible
//! upstream: the conversation ([`super::messages`]), the sampling fields ([`super::sampling`])
//! and the tools and answer format ([`super::plan`]), read with the native surface's own
//! readers so that a request gemd refuses for a local model it refuses here in the same words,
//! and checked against what the backend takes.

use gemd_wire::gemini::GenerateContentRequest;
use serde_json::{json, Map, Value};

use super::error::TranslateError;
use super::messages::{self, Target};
use super::{plan, sampling};
use crate::service::error::ApiError;
use crate::service::generation::{check_unserved_features, GenerateOptions};
use crate::service::tools::plan::{Answer, Plan};

/// The chat-completions body, `stream` (with usage) or whole.
pub fn chat_body(
    req: &GenerateContentRequest,
    plan: &Plan,
    options: &GenerateOptions,
    target: &Target,
    upstream_model: &str,
    stream: bool,
) -> Result<Value, ApiError> {
    check_unserved_features(req, target.model)?;
    let missing = |what, field| TranslateError::CapabilityMissing {
        what,
        model: target.model.to_string(),
        backend: target.backend.to_string(),
        field,
    };
    if !plan.declared.is_empty() && !target.capabilities.tools {
        return Err(missing("function declarations", "tools").into());
    }
    if plan.answer != Answer::Text && !target.capabilities.json_schema {
        return Err(missing("structured output", "generation_config.response_mime_type").into());
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(upstream_model));
    body.insert("messages".into(), Value::Array(messages::to_openai(req, target)?));
    let top_k = if target.capabilities.top_k { options.top_k } else { None };
    sampling::to_openai(&GenerateOptions { top_k, ..options.clone() }, &mut body);
    plan::to_openai(plan, &mut body);
    if stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(body))
}
