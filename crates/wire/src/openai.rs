//! The OpenAI dialect Google serves under `/v1beta/openai/`: chat-completion and embedding
//! requests (strict about unknown top-level names, as the real layer is; lenient inside
//! messages, where SDKs echo back whole response objects), their checks, and the completion,
//! chunk and model-list shapes.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::parse::{parse_json, semantic, WireError};
use crate::proto::Violation;

/// Top-level names of a chat-completions body that the real layer accepts.
pub const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "response_format",
    "tools",
    "tool_choice",
    "reasoning_effort",
    "service_tier",
    "logprobs",
    "top_logprobs",
    "parallel_tool_calls",
    "user",
    "extra_body",
];

/// Names of an embeddings body.
pub const EMBEDDING_FIELDS: &[&str] = &["model", "input", "encoding_format", "dimensions", "user", "extra_body"];

/// `extra_body` holds only the `google` extension; these are its chat keys (snake_case Gemini
/// fields).
const EXTRA_BODY_FIELDS: &[&str] = &["google"];
const GOOGLE_FIELDS: &[&str] = &["cached_content", "thinking_config", "safety_settings"];

/// The `reasoning_effort` values the real layer maps to a thinking budget or level.
pub const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high"];

// ---------- requests ----------

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatCompletionRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub model: String,
    #[serde(default, deserialize_with = "nullable")]
    pub messages: Vec<ChatMessage>,
    #[serde(default, deserialize_with = "nullable")]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<i64>,
    pub max_completion_tokens: Option<i64>,
    pub n: Option<i64>,
    pub stop: Option<Stop>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub seed: Option<i64>,
    pub response_format: Option<ResponseFormat>,
    #[serde(default, deserialize_with = "nullable")]
    pub tools: Vec<Value>,
    pub tool_choice: Option<Value>,
    pub reasoning_effort: Option<String>,
    pub service_tier: Option<String>,
    pub logprobs: Option<bool>,
    pub top_logprobs: Option<i64>,
    pub parallel_tool_calls: Option<bool>,
    pub user: Option<String>,
    pub extra_body: Option<ExtraBody>,
}

/// A model id without the optional `models/` prefix.
pub fn bare_model_id(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

impl ChatCompletionRequest {
    pub fn model_id(&self) -> &str {
        bare_model_id(&self.model)
    }

    /// `max_completion_tokens`, or the older `max_tokens`.
    pub fn max_output_tokens(&self) -> Option<i64> {
        self.max_completion_tokens.or(self.max_tokens)
    }

    pub fn stop_sequences(&self) -> Vec<String> {
        match &self.stop {
            None => Vec::new(),
            Some(StringOrList::String(s)) => vec![s.clone()],
            Some(StringOrList::List(v)) => v.clone(),
        }
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options.as_ref().and_then(|o| o.include_usage).unwrap_or(false)
    }

    /// The `extra_body.google` extension, if sent.
    pub fn google(&self) -> Option<&GoogleExtension> {
        self.extra_body.as_ref()?.google.as_ref()
    }
}

/// One message. Keys other SDK versions add when echoing a response back (`refusal`,
/// `annotations`, `audio`, `function_call`) are ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChatMessage {
    #[serde(default, deserialize_with = "nullable")]
    pub role: String,
    pub content: Option<MessageContent>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tool_calls: Vec<ToolCall>,
    pub tool_call_id: Option<String>,
}

/// OpenAI's "a string, or an array of `T`" fields.
#[derive(Debug, Clone, PartialEq)]
pub enum StringOrList<T> {
    String(String),
    List(Vec<T>),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for StringOrList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(StringOrList::String(s)),
            list @ Value::Array(_) => serde_json::from_value(list).map(StringOrList::List).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("expected a string or an array, got {}", kind(&other)))),
        }
    }
}

/// Message content: a string, or a list of typed parts.
pub type MessageContent = StringOrList<ContentPart>;

/// A content part. `type` says which member is set: `text`, `image_url`, `input_audio`,
/// `file`, or (in assistant messages) `refusal`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ContentPart {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    pub text: Option<String>,
    /// `{"url": …, "detail"?}`, or (some clients) the URL string itself.
    pub image_url: Option<Value>,
    pub input_audio: Option<InputAudio>,
    pub file: Option<Value>,
    pub refusal: Option<String>,
}

impl ContentPart {
    pub fn image_url(&self) -> Option<&str> {
        match self.image_url.as_ref()? {
            Value::String(s) => Some(s),
            v => v.get("url")?.as_str(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct InputAudio {
    #[serde(default, deserialize_with = "nullable")]
    pub data: String,
    #[serde(default, deserialize_with = "nullable")]
    pub format: String,
}

/// A tool call: one an earlier assistant message made, or one in an answer (`index` is set
/// only in streamed deltas).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub function: FunctionCall,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct FunctionCall {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// A JSON document as a string.
    #[serde(default, deserialize_with = "nullable")]
    pub arguments: String,
}

/// `stop`: one string or a list.
pub type Stop = StringOrList<String>;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct StreamOptions {
    pub include_usage: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ResponseFormat {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    pub json_schema: Option<Value>,
}

/// The wire key `extra_body` (Google's examples nest `{"extra_body": {"google": …}}` inside the
/// SDK's `extra_body=` argument, which the SDK merges into the top level).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ExtraBody {
    pub google: Option<GoogleExtension>,
}

/// `extra_body.google`: snake_case Gemini fields.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GoogleExtension {
    pub cached_content: Option<String>,
    pub thinking_config: Option<ThinkingConfig>,
    pub safety_settings: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ThinkingConfig {
    #[serde(alias = "thinkingBudget")]
    pub thinking_budget: Option<i64>,
    #[serde(alias = "thinkingLevel")]
    pub thinking_level: Option<String>,
    #[serde(alias = "includeThoughts")]
    pub include_thoughts: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct EmbeddingRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub model: String,
    pub input: Option<Value>,
    pub encoding_format: Option<String>,
    pub dimensions: Option<i64>,
    pub user: Option<String>,
    pub extra_body: Option<Value>,
}

impl EmbeddingRequest {
    pub fn model_id(&self) -> &str {
        bare_model_id(&self.model)
    }
}

/// `null` reads as the type's default (clients send `"tools": null`, `"content": null`).
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------- parsing and checks ----------

/// Parses and checks a `chat/completions` body.
pub fn parse_chat_completion(bytes: &[u8]) -> Result<ChatCompletionRequest, WireError> {
    let req: ChatCompletionRequest = parse_object(bytes, CHAT_FIELDS)?;
    check_chat(&req)?;
    Ok(req)
}

/// Parses an `embeddings` body.
pub fn parse_embedding(bytes: &[u8]) -> Result<EmbeddingRequest, WireError> {
    parse_object(bytes, EMBEDDING_FIELDS)
}

/// JSON syntax, unknown names (top level and `extra_body.google`), then types, each problem
/// reported with the path it is at.
fn parse_object<T: DeserializeOwned>(bytes: &[u8], known: &[&str]) -> Result<T, WireError> {
    let value = parse_json(bytes)?;
    let Value::Object(top) = &value else {
        return Err(WireError::Proto(vec![Violation {
            field: None,
            description: format!(
                "Invalid JSON payload received. Expected an object at the top level, got {}.",
                kind(&value)
            ),
        }]));
    };
    let mut unknown = unknown_names(top, known, None);
    if let Some(Value::Object(extra)) = top.get("extra_body") {
        unknown.extend(unknown_names(extra, EXTRA_BODY_FIELDS, Some("extra_body")));
        if let Some(Value::Object(google)) = extra.get("google") {
            unknown.extend(unknown_names(google, GOOGLE_FIELDS, Some("extra_body.google")));
        }
    }
    if !unknown.is_empty() {
        return Err(WireError::Proto(unknown));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        let at = field.as_deref().map(|p| format!(" at '{p}'")).unwrap_or_default();
        WireError::Proto(vec![Violation { description: format!("Invalid value{at}: {}.", e.inner()), field }])
    })
}

fn unknown_names(object: &Map<String, Value>, known: &[&str], at: Option<&str>) -> Vec<Violation> {
    let location = at.map(|p| format!(" at '{p}'")).unwrap_or_default();
    object
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| Violation {
            field: at.map(str::to_owned),
            description: format!("Invalid JSON payload received. Unknown name \"{k}\"{location}: Cannot find field."),
        })
        .collect()
}

const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool", "function"];

fn check_chat(req: &ChatCompletionRequest) -> Result<(), WireError> {
    const AT: &str = "ChatCompletionRequest";
    let mut v = Vec::new();
    let mut rule = |bad: bool, field: &str, reason: String| {
        if bad {
            v.push(semantic(&format!("{AT}.{field}"), &reason));
        }
    };
    rule(req.model.is_empty(), "model", "model is required.".into());
    rule(req.messages.is_empty(), "messages", "messages must not be empty.".into());
    for (i, m) in req.messages.iter().enumerate() {
        rule(
            !ROLES.contains(&m.role.as_str()),
            &format!("messages[{i}].role"),
            format!("Please use a valid role: system, developer, user, assistant, tool. Got \"{}\".", m.role),
        );
    }
    if let Some(t) = req.temperature {
        rule(
            !(0.0..=2.0).contains(&t),
            "temperature",
            format!("temperature must be in the range [0.0, 2.0], got {t}."),
        );
    }
    if let Some(p) = req.top_p {
        rule(!(0.0..=1.0).contains(&p), "top_p", format!("top_p must be in the range [0.0, 1.0], got {p}."));
    }
    for (name, value) in [("max_tokens", req.max_tokens), ("max_completion_tokens", req.max_completion_tokens)] {
        if let Some(n) = value {
            rule(n < 1, name, format!("{name} must be positive, got {n}."));
        }
    }
    if let Some(n) = req.n {
        rule(n < 1, "n", format!("n must be at least 1, got {n}."));
    }
    rule(req.stop_sequences().len() > 5, "stop", "stop supports at most 5 sequences.".into());
    if let Some(effort) = &req.reasoning_effort {
        rule(
            !REASONING_EFFORTS.contains(&effort.as_str()),
            "reasoning_effort",
            format!("reasoning_effort must be one of {}, got \"{effort}\".", REASONING_EFFORTS.join(", ")),
        );
    }
    if let Some(tc) = req.google().and_then(|g| g.thinking_config.as_ref()) {
        rule(
            req.reasoning_effort.is_some(),
            "reasoning_effort",
            "reasoning_effort and extra_body.google.thinking_config cannot both be set.".into(),
        );
        rule(
            tc.thinking_budget.is_some() && tc.thinking_level.is_some(),
            "extra_body.google.thinking_config",
            "thinking_budget and thinking_level cannot both be set.".into(),
        );
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(WireError::Semantic(v))
    }
}

// ---------- responses ----------

/// A whole answer (`object: "chat.completion"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Choice {
    pub index: u32,
    pub message: ResponseMessage,
    pub finish_reason: Option<FinishReason>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResponseMessage {
    pub role: String,
    /// `null` when the answer is tool calls.
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

impl Usage {
    pub fn new(prompt: u32, completion: u32) -> Self {
        Usage { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
    }
}

impl ChatCompletion {
    pub fn new(
        id: &str,
        created: u64,
        model: &str,
        message: ResponseMessage,
        finish: FinishReason,
        usage: Usage,
    ) -> Self {
        ChatCompletion {
            id: id.into(),
            object: "chat.completion".into(),
            created,
            model: model.into(),
            choices: vec![Choice { index: 0, message, finish_reason: Some(finish) }],
            usage,
        }
    }
}

/// One streamed event (`object: "chat.completion.chunk"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatCompletionChunk {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChunkChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    /// Printed as `null` until the last chunk.
    pub finish_reason: Option<FinishReason>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

impl ChatCompletionChunk {
    /// A chunk of choice 0 (`delta` and `finish_reason`), or, with `choice` `None`, the usage
    /// chunk `include_usage` asks for (empty `choices`).
    pub fn new(
        id: &str,
        created: u64,
        model: &str,
        choice: Option<(Delta, Option<FinishReason>)>,
        usage: Option<Usage>,
    ) -> Self {
        ChatCompletionChunk {
            id: id.into(),
            object: "chat.completion.chunk".into(),
            created,
            model: model.into(),
            choices: choice
                .map(|(delta, finish_reason)| ChunkChoice { index: 0, delta, finish_reason })
                .into_iter()
                .collect(),
            usage,
        }
    }
}

/// `GET models`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelList {
    pub object: String,
    pub data: Vec<ModelObject>,
}

impl ModelList {
    pub fn new(data: Vec<ModelObject>) -> Self {
        ModelList { object: "list".into(), data }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelObject {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub owned_by: String,
}

impl ModelObject {
    pub fn new(id: String, created: u64) -> Self {
        ModelObject { id, object: "model".into(), created, owned_by: "google".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> WireError {
        parse_chat_completion(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn captured_bodies_parse() {
        let r = parse_chat_completion(
            br#"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Write a haiku"}],"max_tokens":256,"n":1,"reasoning_effort":"low","stop":["END"],"temperature":0.7,"top_p":0.9}"#,
        )
        .unwrap();
        assert_eq!((r.max_output_tokens(), r.stop_sequences()), (Some(256), vec!["END".to_string()]));
        let r = parse_chat_completion(
            br#"{"model":"models/gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"a"}]},{"content":null,"role":"assistant","refusal":null,"tool_calls":[{"id":"call_0","function":{"arguments":"{}","name":"f"},"type":"function"}]},{"role":"tool","tool_call_id":"call_0","content":"{}"}],"stop":"X","stream":true,"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert_eq!(r.model_id(), "gemini-2.5-flash");
        assert_eq!(r.messages[1].tool_calls[0].function.name, "f");
        assert_eq!(r.stop_sequences(), vec!["X".to_string()]);
        assert!(r.stream && r.include_usage());
    }

    #[test]
    fn unknown_top_level_and_google_names_are_rejected_like_the_real_layer() {
        assert_eq!(
            err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"thinking":{}}"#).to_string(),
            "Invalid JSON payload received. Unknown name \"thinking\": Cannot find field."
        );
        let e = err(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"extra_body":{"google":{"thinking_config":{"thinking_budget":0},"nope":1}}}"#,
        );
        assert_eq!(
            e.to_string(),
            "Invalid JSON payload received. Unknown name \"nope\" at 'extra_body.google': Cannot find field."
        );
        assert_eq!(e.violations()[0].field.as_deref(), Some("extra_body.google"));
    }

    #[test]
    fn wrong_types_name_their_path() {
        let e = err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#);
        assert_eq!(e.violations()[0].field.as_deref(), Some("temperature"));
        let e = err(r#"{"model":"m","messages":[{"role":"user","content":5}]}"#);
        assert_eq!(e.violations()[0].field.as_deref(), Some("messages[0].content"));
        assert!(e.to_string().contains("expected a string or an array, got a number"), "{e}");
        assert!(matches!(err("[1]"), WireError::Proto(_)));
        assert!(matches!(err("{"), WireError::Syntax(_)));
    }

    #[test]
    fn semantic_rules() {
        let e = err(
            r#"{"model":"m","messages":[{"role":"robot","content":"x"}],"temperature":3,"stop":["a","b","c","d","e","f"],"n":0}"#,
        );
        let fields: Vec<_> = e.violations().into_iter().filter_map(|v| v.field).collect();
        assert_eq!(fields, ["messages[0].role", "temperature", "n", "stop"]);
        let e = err(r#"{"model":"m","messages":[]}"#);
        assert_eq!(e.to_string(), "* ChatCompletionRequest.messages: messages must not be empty.\n");
        let e = err(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","extra_body":{"google":{"thinking_config":{"thinking_budget":0}}}}"#,
        );
        assert_eq!(e.violations()[0].field.as_deref(), Some("reasoning_effort"));
    }

    #[test]
    fn chunks_print_null_finish_and_omit_absent_usage() {
        let c = ChatCompletionChunk::new(
            "chatcmpl-x",
            1,
            "m",
            Some((Delta { role: Some("assistant".into()), content: Some("Hi".into()), ..Default::default() }, None)),
            None,
        );
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#
        );
        let u = ChatCompletionChunk::new("chatcmpl-x", 1, "m", None, Some(Usage::new(2, 3)));
        assert_eq!(serde_json::to_value(&u).unwrap()["choices"], serde_json::json!([]));
        assert_eq!(serde_json::to_value(&u).unwrap()["usage"]["total_tokens"], 5);
    }
}
