//! Typed Gemini API messages. Request types are read from bodies already normalised by
//! [`crate::proto`] (lowerCamel keys, enum names), so serde sees one spelling only; response
//! types serialise lowerCamel and omit proto3 defaults, as the real service does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------- requests ----------

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub safety_settings: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_config: Option<GenerationConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// A part: exactly one data member plus optional metadata. Unrecognised-by-gemd members are
/// kept as raw JSON so they can be named in "unsupported" errors.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_code: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_execution_result: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thought: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_resolution: Option<Value>,
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part { text: Some(text.into()), ..Default::default() }
    }

    /// Names of the data members set on this part (proto `oneof data`), snake_case.
    pub fn data_members(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.text.is_some() {
            v.push("text");
        }
        if self.inline_data.is_some() {
            v.push("inline_data");
        }
        if self.file_data.is_some() {
            v.push("file_data");
        }
        if self.function_call.is_some() {
            v.push("function_call");
        }
        if self.function_response.is_some() {
            v.push("function_response");
        }
        if self.executable_code.is_some() {
            v.push("executable_code");
        }
        if self.code_execution_result.is_some() {
            v.push("code_execution_result");
        }
        v
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(default)]
    pub mime_type: String,
    /// Standard base64 (the normaliser rewrote URL-safe input).
    #[serde(default)]
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    pub candidate_count: Option<i64>,
    #[serde(default)]
    pub stop_sequences: Vec<String>,
    pub max_output_tokens: Option<i64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<i64>,
    pub seed: Option<i64>,
    pub response_mime_type: Option<String>,
    pub response_schema: Option<Value>,
    pub response_json_schema: Option<Value>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub response_logprobs: Option<bool>,
    pub logprobs: Option<i64>,
    pub enable_enhanced_civic_answers: Option<bool>,
    #[serde(default)]
    pub response_modalities: Vec<String>,
    pub speech_config: Option<Value>,
    pub thinking_config: Option<ThinkingConfig>,
    pub media_resolution: Option<String>,
    pub image_config: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    pub include_thoughts: Option<bool>,
    pub thinking_budget: Option<i64>,
    pub thinking_level: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CountTokensRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    pub generate_content_request: Option<GenerateContentRequest>,
}

/// `embedContent`'s body, and one entry of `batchEmbedContents`' `requests`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmbedContentRequest {
    /// Required inside a batch (it must name the path's model); ignored on `embedContent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// A `TaskType` name (the normaliser turned numbers into names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `0` or absent: the model's full dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchEmbedContentsRequest {
    #[serde(default)]
    pub requests: Vec<EmbedContentRequest>,
}

// ---------- responses ----------

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub candidates: Vec<Candidate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prompt_feedback: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub model_version: String,
    #[serde(default)]
    pub response_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content: Option<Content>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finish_reason: Option<FinishReason>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finish_message: Option<String>,
    /// Declared `optional` in the proto, so `0` is printed.
    #[serde(default)]
    pub index: u32,
}

/// Why a candidate stopped. Serialised by name (the default proto3 JSON encoding).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FinishReason {
    FinishReasonUnspecified,
    Stop,
    MaxTokens,
    Safety,
    Recitation,
    Language,
    Other,
    Blocklist,
    ProhibitedContent,
    Spii,
    MalformedFunctionCall,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(skip_serializing_if = "is_zero", default)]
    pub prompt_token_count: u32,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub candidates_token_count: u32,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub total_token_count: u32,
}

impl UsageMetadata {
    pub fn new(prompt: u32, candidates: u32) -> Self {
        UsageMetadata {
            prompt_token_count: prompt,
            candidates_token_count: candidates,
            total_token_count: prompt + candidates,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CountTokensResponse {
    pub total_tokens: u32,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub prompt_tokens_details: Vec<ModalityTokenCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModalityTokenCount {
    pub modality: String,
    pub token_count: u32,
}

/// One embedding: `{"values": [...]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContentEmbedding {
    pub values: Vec<f32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EmbedContentResponse {
    pub embedding: ContentEmbedding,
}

/// The embeddings of a batch, in the order of its requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BatchEmbedContentsResponse {
    pub embeddings: Vec<ContentEmbedding>,
}

/// A `Model` resource as `models.list` / `models.get` return it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub name: String,
    pub base_model_id: String,
    pub version: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub input_token_limit: u32,
    pub output_token_limit: u32,
    pub supported_generation_methods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub thinking: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListModelsResponse {
    pub models: Vec<Model>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_page_token: Option<String>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}
