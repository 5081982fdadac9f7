//! The refusals of a request's tools, calling config and response format, in either surface's
//! dialect (`crate::gemini::tools`, `crate::openai::tools`): one variant per kind, holding the
//! names and request paths it reports; [`ToolError::field`] is the field each one names. A bad
//! function name or schema is refused by its own type ([`super::names`], [`super::schema`]).

use std::borrow::Cow;

use serde_json::Value;

use super::schema::snake;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    // Declarations. `at` is the declaration's request path (`tools[i].function_declarations[j]`
    // in the Gemini dialect), `tool` a tool's index in `tools`.
    /// A Gemini tool other than `functionDeclarations` (`kind`: its JSON name).
    #[error("Tool \"{kind}\" is not supported on this server yet; only functionDeclarations are.")]
    ToolKindUnsupported { kind: String, tool: usize },
    #[error("Duplicate function declaration \"{name}\".")]
    DuplicateDeclaration { name: String, at: String },
    #[error("parameters and parameters_json_schema cannot both be set.")]
    BothParameters { at: String },
    /// Gemini Schema `parameters` whose type is not OBJECT.
    #[error("{at}.parameters.type must be OBJECT for function \"{name}\".")]
    ParametersNotObject { name: String, at: String },
    #[error("parameters_json_schema of function \"{name}\" must describe an object (\"type\": \"object\").")]
    JsonParametersNotObject { name: String, at: String },
    /// An OpenAI tool whose `type` is not `function`.
    #[error("Tool type \"{kind}\" is not supported; use \"function\".")]
    ToolTypeUnsupported { kind: String, tool: usize },
    #[error("A function tool needs a \"function\" object.")]
    FunctionMissing { tool: usize },
    /// OpenAI `parameters` that do not describe an object.
    #[error("The parameters of function \"{name}\" must describe an object (\"type\": \"object\").")]
    OpenAiParametersNotObject { name: String, tool: usize },

    // Calling config: Gemini's `toolConfig.functionCallingConfig`, OpenAI's `tool_choice`.
    /// `allowedFunctionNames[index]` names no declared function.
    #[error("allowed_function_names contains \"{name}\", which is not a declared function.")]
    AllowedNotDeclared { name: String, index: usize },
    #[error("allowed_function_names may only be set when the function calling mode is ANY or VALIDATED, not {mode}.")]
    AllowedNeedsAnyMode { mode: String },
    #[error("Function calling mode ANY needs at least one function declaration in tools.")]
    AnyWithoutDeclarations,
    #[error("tool_choice \"required\" needs at least one tool.")]
    RequiredWithoutTools,
    #[error("tool_choice names \"{name}\", which is not one of the tools.")]
    ChoiceNotATool { name: String },
    /// A `tool_choice` of no known shape (`got`: as sent).
    #[error("tool_choice must be \"none\", \"auto\", \"required\" or {{\"type\": \"function\", \"function\": {{\"name\": …}}}}, got {got}.")]
    BadToolChoice { got: Value },

    // Response format: Gemini's `generationConfig.responseMimeType/responseSchema/
    // responseJsonSchema`, OpenAI's `response_format`.
    #[error("response_schema and response_json_schema cannot both be set.")]
    BothResponseSchemas,
    #[error(
        "response_schema and response_json_schema need response_mime_type \"application/json\" or \"text/x.enum\"."
    )]
    SchemaNeedsStructuredMime,
    #[error("response_mime_type \"text/x.enum\" needs a response_schema of type STRING with enum values.")]
    EnumNeedsValues,
    #[error(
        "response_mime_type \"{mime}\" is not supported; use \"text/plain\", \"application/json\" or \"text/x.enum\"."
    )]
    MimeUnsupported { mime: String },
    #[error("response_format \"json_schema\" needs json_schema.schema.")]
    JsonSchemaMissing,
    #[error("response_format type \"{kind}\" is not supported; use \"text\", \"json_object\" or \"json_schema\".")]
    ResponseFormatUnsupported { kind: String },
}

impl ToolError {
    /// The request field the refusal names.
    pub fn field(&self) -> Cow<'_, str> {
        use ToolError::*;
        const CALLING: &str = "tool_config.function_calling_config";
        match self {
            ToolKindUnsupported { kind, tool } => format!("tools[{tool}].{}", snake(kind)).into(),
            DuplicateDeclaration { at, .. } => format!("{at}.name").into(),
            BothParameters { at } | JsonParametersNotObject { at, .. } => format!("{at}.parameters_json_schema").into(),
            ParametersNotObject { at, .. } => format!("{at}.parameters.type").into(),
            ToolTypeUnsupported { tool, .. } => format!("tools[{tool}].type").into(),
            FunctionMissing { tool } => format!("tools[{tool}].function").into(),
            OpenAiParametersNotObject { tool, .. } => format!("tools[{tool}].function.parameters").into(),
            AllowedNotDeclared { index, .. } => format!("{CALLING}.allowed_function_names[{index}]").into(),
            AllowedNeedsAnyMode { .. } => format!("{CALLING}.allowed_function_names").into(),
            AnyWithoutDeclarations => format!("{CALLING}.mode").into(),
            RequiredWithoutTools | BadToolChoice { .. } => "tool_choice".into(),
            ChoiceNotATool { .. } => "tool_choice.function.name".into(),
            BothResponseSchemas => "generation_config.response_json_schema".into(),
            SchemaNeedsStructuredMime | MimeUnsupported { .. } => "generation_config.response_mime_type".into(),
            EnumNeedsValues => "generation_config.response_schema".into(),
            JsonSchemaMissing => "response_format.json_schema.schema".into(),
            ResponseFormatUnsupported { .. } => "response_format.type".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::ToolError::{self, *};

    /// Every kind's message and field, as the surfaces answered them before the kinds were
    /// typed: clients and the SDK tests match these words.
    #[test]
    fn messages_and_fields_are_pinned() {
        let at = || "tools[1].function_declarations[2]".to_string();
        let name = || "f".to_string();
        let cases: Vec<(ToolError, &str, &str)> = vec![
            (ToolKindUnsupported { kind: "googleSearch".into(), tool: 1 }, "Tool \"googleSearch\" is not supported on this server yet; only functionDeclarations are.", "tools[1].google_search"),
            (DuplicateDeclaration { name: name(), at: at() }, "Duplicate function declaration \"f\".", "tools[1].function_declarations[2].name"),
            (BothParameters { at: at() }, "parameters and parameters_json_schema cannot both be set.", "tools[1].function_declarations[2].parameters_json_schema"),
            (ParametersNotObject { name: name(), at: at() }, "tools[1].function_declarations[2].parameters.type must be OBJECT for function \"f\".", "tools[1].function_declarations[2].parameters.type"),
            (JsonParametersNotObject { name: name(), at: at() }, "parameters_json_schema of function \"f\" must describe an object (\"type\": \"object\").", "tools[1].function_declarations[2].parameters_json_schema"),
            (ToolTypeUnsupported { kind: "web".into(), tool: 3 }, "Tool type \"web\" is not supported; use \"function\".", "tools[3].type"),
            (FunctionMissing { tool: 3 }, "A function tool needs a \"function\" object.", "tools[3].function"),
            (OpenAiParametersNotObject { name: name(), tool: 3 }, "The parameters of function \"f\" must describe an object (\"type\": \"object\").", "tools[3].function.parameters"),
            (AllowedNotDeclared { name: name(), index: 4 }, "allowed_function_names contains \"f\", which is not a declared function.", "tool_config.function_calling_config.allowed_function_names[4]"),
            (AllowedNeedsAnyMode { mode: "AUTO".into() }, "allowed_function_names may only be set when the function calling mode is ANY or VALIDATED, not AUTO.", "tool_config.function_calling_config.allowed_function_names"),
            (AnyWithoutDeclarations, "Function calling mode ANY needs at least one function declaration in tools.", "tool_config.function_calling_config.mode"),
            (RequiredWithoutTools, "tool_choice \"required\" needs at least one tool.", "tool_choice"),
            (ChoiceNotATool { name: name() }, "tool_choice names \"f\", which is not one of the tools.", "tool_choice.function.name"),
            (BadToolChoice { got: json!({"type": "x"}) }, "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}, got {\"type\":\"x\"}.", "tool_choice"),
            (BothResponseSchemas, "response_schema and response_json_schema cannot both be set.", "generation_config.response_json_schema"),
            (SchemaNeedsStructuredMime, "response_schema and response_json_schema need response_mime_type \"application/json\" or \"text/x.enum\".", "generation_config.response_mime_type"),
            (EnumNeedsValues, "response_mime_type \"text/x.enum\" needs a response_schema of type STRING with enum values.", "generation_config.response_schema"),
            (MimeUnsupported { mime: "image/png".into() }, "response_mime_type \"image/png\" is not supported; use \"text/plain\", \"application/json\" or \"text/x.enum\".", "generation_config.response_mime_type"),
            (JsonSchemaMissing, "response_format \"json_schema\" needs json_schema.schema.", "response_format.json_schema.schema"),
            (ResponseFormatUnsupported { kind: "xml".into() }, "response_format type \"xml\" is not supported; use \"text\", \"json_object\" or \"json_schema\".", "response_format.type"),
        ];
        for (e, message, field) in cases {
            assert_eq!((e.to_string().as_str(), e.field().as_ref()), (message, field), "{e:?}");
        }
    }
}
