//! From request bytes to typed requests: JSON syntax, the proto3 mapping (unknown fields,
//! types, enums), then the semantic checks the real service applies before running a model.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::gemini::{
    BatchEmbedContentsRequest, Content, CountTokensRequest, EmbedContentRequest, GenerateContentRequest,
};
use crate::proto::descriptor::Message;
use crate::proto::messages::{
    BATCH_EMBED_CONTENTS_REQUEST, COUNT_TOKENS_REQUEST, EMBED_CONTENT_REQUEST, GENERATE_CONTENT_REQUEST,
};
use crate::proto::{normalize, Violation};

/// Why a body was refused. Every variant becomes a 400 INVALID_ARGUMENT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// Not JSON at all.
    #[error("Invalid JSON payload received. {0}")]
    Syntax(String),
    /// JSON, but not a valid instance of the message (proto3 mapping problems).
    #[error("{}", join(.0))]
    Proto(Vec<Violation>),
    /// A valid message that breaks a rule of the API (`* Field: reason` lines, as Google
    /// prints them).
    #[error("{}", join(.0))]
    Semantic(Vec<Violation>),
}

impl WireError {
    pub fn violations(&self) -> Vec<Violation> {
        match self {
            WireError::Syntax(_) => vec![Violation { field: None, description: self.to_string() }],
            WireError::Proto(v) | WireError::Semantic(v) => v.clone(),
        }
    }
}

fn join(v: &[Violation]) -> String {
    v.iter().map(|v| v.description.as_str()).collect::<Vec<_>>().join("\n")
}

/// Parses `bytes` as `message` and deserialises it into `T`.
pub fn parse_message<T: DeserializeOwned>(message: &'static Message, bytes: &[u8]) -> Result<T, WireError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // An empty body is an empty message in proto3 JSON.
        return serde_json::from_value(Value::Object(Default::default())).map_err(|e| WireError::Syntax(e.to_string()));
    }
    let value = normalize(message, parse_json(bytes)?).map_err(WireError::Proto)?;
    // The normaliser has checked every type, so this only fails on a gemd bug; say so plainly.
    serde_json::from_value(value).map_err(|e| WireError::Syntax(format!("Cannot bind query parameter or body: {e}")))
}

/// Parses `bytes` as one JSON value; malformed JSON is a [`WireError::Syntax`] saying where.
pub fn parse_json(bytes: &[u8]) -> Result<Value, WireError> {
    serde_json::from_slice(bytes).map_err(|e| WireError::Syntax(syntax_hint(&e)))
}

fn syntax_hint(e: &serde_json::Error) -> String {
    format!("Unexpected token at line {} column {}: {}.", e.line(), e.column(), classify(e))
}

fn classify(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "the body ended before the JSON value was complete",
        Category::Syntax => "malformed JSON",
        Category::Data => "unexpected value",
        Category::Io => "unreadable body",
    }
}

/// Parses and checks a `generateContent` / `streamGenerateContent` body.
pub fn parse_generate(bytes: &[u8]) -> Result<GenerateContentRequest, WireError> {
    let req: GenerateContentRequest = parse_message(&GENERATE_CONTENT_REQUEST, bytes)?;
    check_generate(&req, "GenerateContentRequest", "")?;
    Ok(req)
}

/// Parses and checks a `countTokens` body (either of its two forms).
pub fn parse_count_tokens(bytes: &[u8]) -> Result<CountTokensRequest, WireError> {
    let req: CountTokensRequest = parse_message(&COUNT_TOKENS_REQUEST, bytes)?;
    match &req.generate_content_request {
        Some(inner) => {
            let mut v = Vec::new();
            if inner.model.as_deref().unwrap_or("").is_empty() {
                v.push(semantic("CountTokensRequest.generate_content_request.model", "Model name is required."));
            }
            if !v.is_empty() {
                return Err(WireError::Semantic(v));
            }
            check_generate(inner, "CountTokensRequest", "generate_content_request.")?;
        }
        None => check_contents(&req.contents, "CountTokensRequest", "").map_err(WireError::Semantic)?,
    }
    Ok(req)
}

fn check_generate(req: &GenerateContentRequest, message: &str, prefix: &str) -> Result<(), WireError> {
    let mut v = match check_contents(&req.contents, message, prefix) {
        Ok(()) => Vec::new(),
        Err(v) => v,
    };
    if let Some(si) = &req.system_instruction {
        v.extend(check_parts(si, &format!("{message}.{prefix}system_instruction")));
    }
    if let Some(cfg) = &req.generation_config {
        let at = format!("{message}.{prefix}generation_config");
        if let Some(t) = cfg.temperature.filter(|t| !(0.0..=2.0).contains(t)) {
            v.push(semantic(
                &format!("{at}.temperature"),
                &format!("temperature must be in the range [0.0, 2.0], got {t}."),
            ));
        }
        if let Some(p) = cfg.top_p.filter(|p| !(0.0..=1.0).contains(p)) {
            v.push(semantic(&format!("{at}.top_p"), &format!("top_p must be in the range [0.0, 1.0], got {p}.")));
        }
        if let Some(k) = cfg.top_k.filter(|k| *k < 0) {
            v.push(semantic(&format!("{at}.top_k"), &format!("top_k must be non-negative, got {k}.")));
        }
        // The field is `optional`: an explicit 0 is a value, outside the real range `[1, limit]`
        // (the upper end needs the model and is checked where it is known).
        if let Some(n) = cfg.max_output_tokens.filter(|n| *n < 1) {
            v.push(semantic(
                &format!("{at}.max_output_tokens"),
                &format!("max_output_tokens must be positive, got {n}."),
            ));
        }
        if cfg.stop_sequences.len() > 5 {
            v.push(semantic(&format!("{at}.stop_sequences"), "stop_sequences supports at most 5 entries."));
        }
        if let Some(n) = cfg.candidate_count.filter(|n| *n < 1 || *n > 8) {
            v.push(semantic(
                &format!("{at}.candidate_count"),
                &format!("candidate_count must be in the range [1, 8], got {n}."),
            ));
        }
        if let Some(tc) = &cfg.thinking_config {
            if tc.thinking_budget.is_some() && tc.thinking_level.is_some() {
                v.push(semantic(
                    &format!("{at}.thinking_config"),
                    "thinking_budget and thinking_level cannot both be set.",
                ));
            }
        }
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(WireError::Semantic(v))
    }
}

fn check_contents(contents: &[Content], message: &str, prefix: &str) -> Result<(), Vec<Violation>> {
    if contents.is_empty() {
        return Err(vec![semantic(&format!("{message}.{prefix}contents"), "contents is not specified")]);
    }
    let mut v = Vec::new();
    for (i, c) in contents.iter().enumerate() {
        let at = format!("{message}.{prefix}contents[{i}]");
        if let Some(role) = c.role.as_deref() {
            if !matches!(role, "" | "user" | "model" | "function") {
                v.push(semantic(
                    &format!("{at}.role"),
                    &format!("Please use a valid role: user, model. Got \"{role}\"."),
                ));
            }
        }
        v.extend(check_parts(c, &at));
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(v)
    }
}

fn check_parts(content: &Content, at: &str) -> Vec<Violation> {
    if content.parts.is_empty() {
        return vec![semantic(&format!("{at}.parts"), "contents.parts must not be empty.")];
    }
    let mut v = Vec::new();
    for (j, p) in content.parts.iter().enumerate() {
        let members = p.data_members();
        if members.is_empty() {
            v.push(semantic(
                &format!("{at}.parts[{j}].data"),
                "required oneof field 'data' must have one initialized field",
            ));
        } else if members.len() > 1 {
            v.push(semantic(
                &format!("{at}.parts[{j}].data"),
                &format!("oneof field 'data' is already set. Cannot set '{}'", members[1]),
            ));
        }
        // A call or a result must say which function it belongs to.
        let unnamed = [
            ("function_call", p.function_call.as_ref().map(|c| c.name.as_str())),
            ("function_response", p.function_response.as_ref().map(|r| r.name.as_str())),
        ];
        for (member, name) in unnamed {
            if name.is_some_and(|n| n.trim().is_empty()) {
                v.push(semantic(&format!("{at}.parts[{j}].{member}.name"), "Name cannot be empty."));
            }
        }
    }
    v
}

/// The most requests one `batchEmbedContents` call may carry (the real service's limit).
pub const MAX_EMBED_BATCH: usize = 100;

/// Parses and checks an `embedContent` body.
pub fn parse_embed_content(bytes: &[u8]) -> Result<EmbedContentRequest, WireError> {
    let req: EmbedContentRequest = parse_message(&EMBED_CONTENT_REQUEST, bytes)?;
    semantic_result(check_embed(&req, "EmbedContentRequest."))?;
    Ok(req)
}

/// Parses and checks a `batchEmbedContents` body: 1 to [`MAX_EMBED_BATCH`] requests, each a
/// valid `embedContent` body that names its model.
pub fn parse_batch_embed_contents(bytes: &[u8]) -> Result<BatchEmbedContentsRequest, WireError> {
    let req: BatchEmbedContentsRequest = parse_message(&BATCH_EMBED_CONTENTS_REQUEST, bytes)?;
    let at = "BatchEmbedContentsRequest.requests";
    if req.requests.is_empty() {
        return Err(WireError::Semantic(vec![semantic(at, "requests is not specified")]));
    }
    if req.requests.len() > MAX_EMBED_BATCH {
        return Err(WireError::Semantic(vec![semantic(
            at,
            &format!("at most {MAX_EMBED_BATCH} requests can be in one batch"),
        )]));
    }
    let mut v = Vec::new();
    for (i, r) in req.requests.iter().enumerate() {
        let prefix = format!("{at}[{i}].");
        if r.model.as_deref().unwrap_or("").is_empty() {
            v.push(semantic(&format!("{prefix}model"), "Model name is required."));
        }
        v.extend(check_embed(r, &prefix));
    }
    semantic_result(v)?;
    Ok(req)
}

fn check_embed(req: &EmbedContentRequest, prefix: &str) -> Vec<Violation> {
    let mut v = match &req.content {
        None => vec![semantic(&format!("{prefix}content"), "content is not specified")],
        Some(c) => check_parts(c, &format!("{prefix}content")),
    };
    if let Some(n) = req.output_dimensionality.filter(|n| *n < 0) {
        v.push(semantic(
            &format!("{prefix}output_dimensionality"),
            &format!("output_dimensionality must be positive, got {n}."),
        ));
    }
    v
}

fn semantic_result(v: Vec<Violation>) -> Result<(), WireError> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(WireError::Semantic(v))
    }
}

/// A semantic violation in Google's `* Field: reason` form; `field` is the dotted path.
pub fn semantic(field: &str, reason: &str) -> Violation {
    let path = field.split_once('.').map(|(_, p)| p).unwrap_or(field);
    Violation { field: Some(path.to_string()), description: format!("* {field}: {reason}\n") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_contents_and_parts_are_named() {
        let e = parse_generate(br#"{"contents":[]}"#).unwrap_err();
        assert_eq!(e.to_string(), "* GenerateContentRequest.contents: contents is not specified\n");
        let e = parse_generate(br#"{"contents":[{"parts":[]}]}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("contents[0].parts"));
        let e = parse_generate(br#"{"contents":[{"parts":[{}]}]}"#).unwrap_err();
        assert!(e.to_string().contains("required oneof field 'data'"));
    }

    #[test]
    fn malformed_json_is_a_syntax_error() {
        let e = parse_generate(b"{\"contents\": [").unwrap_err();
        assert!(matches!(e, WireError::Syntax(_)));
        assert!(e.to_string().starts_with("Invalid JSON payload received."));
    }

    #[test]
    fn count_tokens_accepts_both_forms() {
        let a = parse_count_tokens(br#"{"contents":[{"parts":[{"text":"hi"}]}]}"#).unwrap();
        assert_eq!(a.contents.len(), 1);
        let b = parse_count_tokens(
            br#"{"generateContentRequest":{"model":"models/gemini-2.5-flash","contents":[{"parts":[{"text":"hi"}],"role":"user"}],"generationConfig":{}}}"#,
        )
        .unwrap();
        assert_eq!(b.generate_content_request.unwrap().contents.len(), 1);
        assert!(parse_count_tokens(br#"{"generateContentRequest":{"contents":[{"parts":[{"text":"hi"}]}]}}"#).is_err());
    }

    #[test]
    fn embed_bodies_parse_with_int_task_types_and_name_their_faults() {
        let r = parse_embed_content(br#"{"content":{"parts":[{"text":"x"}]},"taskType":2,"title":"T"}"#).unwrap();
        assert_eq!(r.task_type.as_deref(), Some("RETRIEVAL_DOCUMENT"));
        let e = parse_embed_content(br#"{"taskType":"CODE_RETRIEVAL_QUERY"}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("content"));
        let e = parse_embed_content(br#"{"content":{"parts":[{"text":"x"}]},"outputDimensionality":-1}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("output_dimensionality"));
        assert!(parse_embed_content(br#"{"content":{"parts":[{"text":"x"}]},"taskType":"NOPE"}"#).is_err());
    }

    #[test]
    fn batches_need_requests_models_and_at_most_a_hundred() {
        let ok =
            parse_batch_embed_contents(br#"{"requests":[{"model":"models/m","content":{"parts":[{"text":"a"}]}}]}"#)
                .unwrap();
        assert_eq!(ok.requests.len(), 1);
        let e = parse_batch_embed_contents(br#"{"requests":[]}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("requests"));
        let e = parse_batch_embed_contents(br#"{"requests":[{"content":{"parts":[{"text":"a"}]}}]}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("requests[0].model"));
        let one = r#"{"model":"models/m","content":{"parts":[{"text":"a"}]}}"#;
        let body = format!(r#"{{"requests":[{}]}}"#, vec![one; 101].join(","));
        assert!(parse_batch_embed_contents(body.as_bytes()).unwrap_err().to_string().contains("at most 100"));
    }

    #[test]
    fn int32_fields_refuse_what_an_int32_cannot_hold() {
        let body = |cfg: &str| format!(r#"{{"contents":[{{"parts":[{{"text":"x"}}]}}],"generationConfig":{cfg}}}"#);
        for cfg in [
            r#"{"maxOutputTokens":1e12}"#,
            r#"{"maxOutputTokens":2147483648}"#,
            r#"{"maxOutputTokens":"3000000000"}"#,
            r#"{"topK":-2147483649}"#,
        ] {
            let e = parse_generate(body(cfg).as_bytes()).unwrap_err();
            assert!(matches!(e, WireError::Proto(_)), "{cfg}: {e}");
            assert!(e.to_string().contains("(TYPE_INT32)"), "{cfg}: {e}");
        }
        let e = parse_generate(body(r#"{"maxOutputTokens":1e12}"#).as_bytes()).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("generation_config.max_output_tokens"));
        let ok = parse_generate(body(r#"{"maxOutputTokens":2147483647,"seed":-2147483648}"#).as_bytes()).unwrap();
        assert_eq!(ok.generation_config.unwrap().max_output_tokens, Some(2147483647));
        let e =
            parse_embed_content(br#"{"content":{"parts":[{"text":"x"}]},"outputDimensionality":1e10}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("output_dimensionality"));
    }

    #[test]
    fn an_explicit_zero_output_cap_is_refused() {
        let e = parse_generate(br#"{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":0}}"#)
            .unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("generation_config.max_output_tokens"));
    }

    #[test]
    fn out_of_range_sampling_is_rejected() {
        let e = parse_generate(br#"{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"temperature":3}}"#)
            .unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("generation_config.temperature"));
    }
}
