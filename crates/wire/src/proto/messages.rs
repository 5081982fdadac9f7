//! Descriptor tables of the `google.ai.generativelanguage.v1beta` request messages gemd reads.
//! Field names, numbers of enum values and nesting follow the published protos; fields that
//! gemd passes through without interpreting are typed `Json`.

use super::descriptor::{many, map, one, EnumType, Field, Kind, Message};
use Kind::{Bool, Bytes, Float, Int, Int32, Json, Str, Struct};

const PKG: &str = "type.googleapis.com/google.ai.generativelanguage.v1beta.";

macro_rules! enum_type {
    ($id:ident, $name:literal, $ci:literal, [$($v:literal),* $(,)?]) => {
        pub static $id: EnumType = EnumType {
            full_name: concat!("type.googleapis.com/google.ai.generativelanguage.v1beta.", $name),
            names: &[$($v),*],
            case_insensitive: $ci,
        };
    };
}

enum_type!(
    TYPE,
    "Type",
    true,
    ["TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"]
);
enum_type!(FC_MODE, "FunctionCallingConfig.Mode", false, ["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"]);
enum_type!(
    HARM_CATEGORY,
    "HarmCategory",
    false,
    [
        "HARM_CATEGORY_UNSPECIFIED",
        "HARM_CATEGORY_DEROGATORY",
        "HARM_CATEGORY_TOXICITY",
        "HARM_CATEGORY_VIOLENCE",
        "HARM_CATEGORY_SEXUAL",
        "HARM_CATEGORY_MEDICAL",
        "HARM_CATEGORY_DANGEROUS",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    ]
);
enum_type!(
    HARM_THRESHOLD,
    "SafetySetting.HarmBlockThreshold",
    false,
    [
        "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
        "BLOCK_LOW_AND_ABOVE",
        "BLOCK_MEDIUM_AND_ABOVE",
        "BLOCK_ONLY_HIGH",
        "BLOCK_NONE",
        "OFF",
    ]
);
enum_type!(MODALITY, "GenerationConfig.Modality", false, ["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"]);
enum_type!(
    MEDIA_RESOLUTION,
    "GenerationConfig.MediaResolution",
    false,
    [
        "MEDIA_RESOLUTION_UNSPECIFIED",
        "MEDIA_RESOLUTION_LOW",
        "MEDIA_RESOLUTION_MEDIUM",
        "MEDIA_RESOLUTION_HIGH",
        "MEDIA_RESOLUTION_ULTRA_HIGH",
    ]
);
// UNCONFIRMED: the published proto lacks ThinkingLevel; numbers beyond 0 are a best guess
// (SDKs that know this field send names, so the numbers matter little).
enum_type!(
    THINKING_LEVEL,
    "ThinkingConfig.ThinkingLevel",
    false,
    ["THINKING_LEVEL_UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "MINIMAL"]
);
enum_type!(
    TASK_TYPE,
    "TaskType",
    false,
    [
        "TASK_TYPE_UNSPECIFIED",
        "RETRIEVAL_QUERY",
        "RETRIEVAL_DOCUMENT",
        "SEMANTIC_SIMILARITY",
        "CLASSIFICATION",
        "CLUSTERING",
        "QUESTION_ANSWERING",
        "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    ]
);
enum_type!(DYNAMIC_MODE, "DynamicRetrievalConfig.Mode", false, ["MODE_UNSPECIFIED", "MODE_DYNAMIC"]);
enum_type!(LANGUAGE, "ExecutableCode.Language", false, ["LANGUAGE_UNSPECIFIED", "PYTHON"]);
enum_type!(
    OUTCOME,
    "CodeExecutionResult.Outcome",
    false,
    ["OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED",]
);
enum_type!(BEHAVIOR, "FunctionDeclaration.Behavior", false, ["UNSPECIFIED", "BLOCKING", "NON_BLOCKING"]);
enum_type!(
    SCHEDULING,
    "FunctionResponse.Scheduling",
    false,
    ["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"]
);

macro_rules! message {
    ($id:ident, $name:literal, [$($f:expr),* $(,)?]) => {
        pub static $id: Message = Message {
            full_name: concat!("type.googleapis.com/google.ai.generativelanguage.v1beta.", $name),
            fields: &[$($f),*],
        };
    };
}

use Kind::Enum as E;
use Kind::Message as M;

message!(
    GENERATE_CONTENT_REQUEST,
    "GenerateContentRequest",
    [
        one("model", "model", Str),
        many("contents", "contents", M(&CONTENT)),
        one("system_instruction", "systemInstruction", M(&CONTENT)),
        many("tools", "tools", M(&TOOL)),
        one("tool_config", "toolConfig", M(&TOOL_CONFIG)),
        many("safety_settings", "safetySettings", M(&SAFETY_SETTING)),
        one("generation_config", "generationConfig", M(&GENERATION_CONFIG)),
        one("cached_content", "cachedContent", Str),
        one("service_tier", "serviceTier", Str),
        map("labels", "labels", Str),
    ]
);
message!(CONTENT, "Content", [one("role", "role", Str), many("parts", "parts", M(&PART))]);
message!(
    PART,
    "Part",
    [
        one("text", "text", Str),
        one("inline_data", "inlineData", M(&BLOB)),
        one("file_data", "fileData", M(&FILE_DATA)),
        one("function_call", "functionCall", M(&FUNCTION_CALL)),
        one("function_response", "functionResponse", M(&FUNCTION_RESPONSE)),
        one("executable_code", "executableCode", M(&EXECUTABLE_CODE)),
        one("code_execution_result", "codeExecutionResult", M(&CODE_EXECUTION_RESULT)),
        one("thought", "thought", Bool),
        one("thought_signature", "thoughtSignature", Bytes),
        one("video_metadata", "videoMetadata", M(&VIDEO_METADATA)),
        one("part_metadata", "partMetadata", Json),
        one("media_resolution", "mediaResolution", M(&PART_MEDIA_RESOLUTION)),
    ]
);
message!(
    BLOB,
    "Blob",
    [one("mime_type", "mimeType", Str), one("data", "data", Bytes), one("display_name", "displayName", Str)]
);
message!(
    FILE_DATA,
    "FileData",
    [one("mime_type", "mimeType", Str), one("file_uri", "fileUri", Str), one("display_name", "displayName", Str)]
);
message!(FUNCTION_CALL, "FunctionCall", [one("id", "id", Str), one("name", "name", Str), one("args", "args", Struct)]);
message!(
    FUNCTION_RESPONSE,
    "FunctionResponse",
    [
        one("id", "id", Str),
        one("name", "name", Str),
        one("response", "response", Struct),
        many("parts", "parts", M(&FUNCTION_RESPONSE_PART)),
        one("will_continue", "willContinue", Bool),
        one("scheduling", "scheduling", E(&SCHEDULING)),
    ]
);
message!(FUNCTION_RESPONSE_PART, "FunctionResponsePart", [one("inline_data", "inlineData", M(&BLOB))]);
message!(EXECUTABLE_CODE, "ExecutableCode", [one("language", "language", E(&LANGUAGE)), one("code", "code", Str)]);
message!(
    CODE_EXECUTION_RESULT,
    "CodeExecutionResult",
    [one("outcome", "outcome", E(&OUTCOME)), one("output", "output", Str)]
);
message!(
    VIDEO_METADATA,
    "VideoMetadata",
    [one("start_offset", "startOffset", Str), one("end_offset", "endOffset", Str), one("fps", "fps", Float)]
);
message!(
    PART_MEDIA_RESOLUTION,
    "Part.MediaResolution",
    [one("level", "level", E(&MEDIA_RESOLUTION)), one("num_tokens", "numTokens", Int)]
);

message!(
    TOOL,
    "Tool",
    [
        many("function_declarations", "functionDeclarations", M(&FUNCTION_DECLARATION)),
        one("google_search_retrieval", "googleSearchRetrieval", M(&GOOGLE_SEARCH_RETRIEVAL)),
        one("code_execution", "codeExecution", M(&EMPTY)),
        one("google_search", "googleSearch", M(&GOOGLE_SEARCH)),
        one("url_context", "urlContext", M(&EMPTY)),
        one("google_maps", "googleMaps", Json),
        one("file_search", "fileSearch", Json),
        one("computer_use", "computerUse", Json),
    ]
);
message!(EMPTY, "Empty", []);
message!(
    FUNCTION_DECLARATION,
    "FunctionDeclaration",
    [
        one("name", "name", Str),
        one("description", "description", Str),
        one("parameters", "parameters", M(&SCHEMA)),
        one("parameters_json_schema", "parametersJsonSchema", Json),
        one("response", "response", M(&SCHEMA)),
        one("response_json_schema", "responseJsonSchema", Json),
        one("behavior", "behavior", E(&BEHAVIOR)),
    ]
);
message!(
    SCHEMA,
    "Schema",
    [
        one("type", "type", E(&TYPE)),
        one("format", "format", Str),
        one("title", "title", Str),
        one("description", "description", Str),
        one("nullable", "nullable", Bool),
        many("enum", "enum", Str),
        one("items", "items", M(&SCHEMA)),
        one("max_items", "maxItems", Int),
        one("min_items", "minItems", Int),
        map("properties", "properties", M(&SCHEMA)),
        many("required", "required", Str),
        one("min_properties", "minProperties", Int),
        one("max_properties", "maxProperties", Int),
        one("minimum", "minimum", Float),
        one("maximum", "maximum", Float),
        one("min_length", "minLength", Int),
        one("max_length", "maxLength", Int),
        one("pattern", "pattern", Str),
        one("example", "example", Json),
        many("any_of", "anyOf", M(&SCHEMA)),
        many("property_ordering", "propertyOrdering", Str),
        one("default", "default", Json),
    ]
);
message!(
    GOOGLE_SEARCH_RETRIEVAL,
    "GoogleSearchRetrieval",
    [one("dynamic_retrieval_config", "dynamicRetrievalConfig", M(&DYNAMIC_RETRIEVAL_CONFIG))]
);
message!(
    DYNAMIC_RETRIEVAL_CONFIG,
    "DynamicRetrievalConfig",
    [one("mode", "mode", E(&DYNAMIC_MODE)), one("dynamic_threshold", "dynamicThreshold", Float)]
);
message!(GOOGLE_SEARCH, "Tool.GoogleSearch", [one("time_range_filter", "timeRangeFilter", M(&INTERVAL))]);
message!(INTERVAL, "Interval", [one("start_time", "startTime", Str), one("end_time", "endTime", Str)]);
message!(
    TOOL_CONFIG,
    "ToolConfig",
    [
        one("function_calling_config", "functionCallingConfig", M(&FUNCTION_CALLING_CONFIG)),
        one("retrieval_config", "retrievalConfig", M(&RETRIEVAL_CONFIG)),
    ]
);
message!(
    FUNCTION_CALLING_CONFIG,
    "FunctionCallingConfig",
    [one("mode", "mode", E(&FC_MODE)), many("allowed_function_names", "allowedFunctionNames", Str),]
);
message!(
    RETRIEVAL_CONFIG,
    "RetrievalConfig",
    [one("lat_lng", "latLng", M(&LAT_LNG)), one("language_code", "languageCode", Str)]
);
message!(LAT_LNG, "LatLng", [one("latitude", "latitude", Float), one("longitude", "longitude", Float)]);
message!(
    SAFETY_SETTING,
    "SafetySetting",
    [one("category", "category", E(&HARM_CATEGORY)), one("threshold", "threshold", E(&HARM_THRESHOLD))]
);

/// `responseJsonSchema` has three spellings because of a proto quirk (see the wire reference):
/// all of them mean the same JSON Schema value.
const RESPONSE_JSON_SCHEMA: Field = Field {
    proto: "response_json_schema",
    json: "responseJsonSchema",
    aliases: &["_responseJsonSchema", "response_json_schema_ordered"],
    kind: Json,
    card: super::descriptor::Card::One,
};

message!(
    GENERATION_CONFIG,
    "GenerationConfig",
    [
        one("candidate_count", "candidateCount", Int32),
        many("stop_sequences", "stopSequences", Str),
        one("max_output_tokens", "maxOutputTokens", Int32),
        one("temperature", "temperature", Float),
        one("top_p", "topP", Float),
        one("top_k", "topK", Int32),
        one("seed", "seed", Int32),
        one("response_mime_type", "responseMimeType", Str),
        one("response_schema", "responseSchema", M(&SCHEMA)),
        RESPONSE_JSON_SCHEMA,
        one("presence_penalty", "presencePenalty", Float),
        one("frequency_penalty", "frequencyPenalty", Float),
        one("response_logprobs", "responseLogprobs", Bool),
        one("logprobs", "logprobs", Int32),
        one("enable_enhanced_civic_answers", "enableEnhancedCivicAnswers", Bool),
        many("response_modalities", "responseModalities", E(&MODALITY)),
        one("speech_config", "speechConfig", Json),
        one("thinking_config", "thinkingConfig", M(&THINKING_CONFIG)),
        one("media_resolution", "mediaResolution", E(&MEDIA_RESOLUTION)),
        one("image_config", "imageConfig", Json),
    ]
);
message!(
    THINKING_CONFIG,
    "ThinkingConfig",
    [
        one("include_thoughts", "includeThoughts", Bool),
        one("thinking_budget", "thinkingBudget", Int32),
        one("thinking_level", "thinkingLevel", E(&THINKING_LEVEL)),
    ]
);

message!(
    COUNT_TOKENS_REQUEST,
    "CountTokensRequest",
    [
        many("contents", "contents", M(&CONTENT)),
        one("generate_content_request", "generateContentRequest", M(&GENERATE_CONTENT_REQUEST)),
    ]
);
message!(
    EMBED_CONTENT_REQUEST,
    "EmbedContentRequest",
    [
        one("model", "model", Str),
        one("content", "content", M(&CONTENT)),
        one("task_type", "taskType", E(&TASK_TYPE)),
        one("title", "title", Str),
        one("output_dimensionality", "outputDimensionality", Int32),
    ]
);
message!(
    BATCH_EMBED_CONTENTS_REQUEST,
    "BatchEmbedContentsRequest",
    [many("requests", "requests", M(&EMBED_CONTENT_REQUEST))]
);

/// The package prefix of every message type name (used in `Invalid value` messages).
pub const TYPE_PREFIX: &str = PKG;
