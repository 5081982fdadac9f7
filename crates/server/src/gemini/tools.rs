//! The [`Plan`] of a native `generateContent` request: `tools[].functionDeclarations`
//! (`parameters` as a Gemini Schema or `parametersJsonSchema`), `toolConfig.
//! functionCallingConfig` and `generationConfig.responseMimeType/responseSchema/
//! responseJsonSchema`, each checked with a 400 that names the field.

use gemd_engine::constraint::any_json;
use gemd_engine::{CallPolicy, ToolSpec};
use gemd_wire::gemini::{GenerateContentRequest, GenerationConfig};
use serde_json::{json, Value};

use crate::service::error::ApiError;
use crate::service::tools::names::check_function_name;
use crate::service::tools::plan::{Answer, Plan};
use crate::service::tools::schema::{close_objects, describes_object, from_gemini};
use crate::service::tools::ToolError;

/// Reads the request's tools, tool config and response format.
pub fn plan(req: &GenerateContentRequest) -> Result<Plan, ApiError> {
    let declared = declarations(&req.tools)?;
    let (mode, allowed) = calling_config(req.tool_config.as_ref())?;
    for (i, name) in allowed.iter().enumerate() {
        if !declared.iter().any(|t| &t.name == name) {
            return Err(ToolError::AllowedNotDeclared { name: name.clone(), index: i }.into());
        }
    }
    let calls = match mode.as_str() {
        _ if declared.is_empty() => None,
        "NONE" => None,
        "ANY" => Some(CallPolicy::Must),
        _ => Some(CallPolicy::May),
    };
    if mode == "ANY" && declared.is_empty() {
        return Err(ToolError::AnyWithoutDeclarations.into());
    }
    let callable = if allowed.is_empty() { declared.iter().map(|t| t.name.clone()).collect() } else { allowed };
    Ok(Plan { declared, callable, calls, answer: answer(req.generation_config.as_ref())?, ..Plan::default() })
}

fn declarations(tools: &[Value]) -> Result<Vec<ToolSpec>, ApiError> {
    let mut out: Vec<ToolSpec> = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let Some(obj) = tool.as_object() else { continue };
        if let Some(kind) = obj.keys().find(|k| k.as_str() != "functionDeclarations") {
            return Err(ToolError::ToolKindUnsupported { kind: kind.clone(), tool: i }.into());
        }
        let list = obj.get("functionDeclarations").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (j, d) in list.iter().enumerate() {
            let at = format!("tools[{i}].function_declarations[{j}]");
            let spec = declaration(d, &at)?;
            if out.iter().any(|t| t.name == spec.name) {
                return Err(ToolError::DuplicateDeclaration { name: spec.name, at }.into());
            }
            out.push(spec);
        }
    }
    Ok(out)
}

fn declaration(d: &Value, at: &str) -> Result<ToolSpec, ApiError> {
    let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
    check_function_name(name, &format!("{at}.name"))?;
    let parameters = match (d.get("parameters"), d.get("parametersJsonSchema")) {
        (Some(_), Some(_)) => {
            return Err(ToolError::BothParameters { at: at.to_string() }.into());
        }
        (Some(schema), None) => {
            let converted = from_gemini(schema, &format!("{at}.parameters"))?;
            if converted.get("type") != Some(&json!("object")) {
                return Err(ToolError::ParametersNotObject { name: name.to_string(), at: at.to_string() }.into());
            }
            converted
        }
        (None, Some(schema)) => {
            if !describes_object(schema) {
                return Err(ToolError::JsonParametersNotObject { name: name.to_string(), at: at.to_string() }.into());
            }
            close_objects(schema, &format!("{at}.parameters_json_schema"))?
        }
        // No parameters: the function takes none.
        (None, None) => json!({"type": "object", "properties": {}, "additionalProperties": false}),
    };
    let description = d.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(ToolSpec { name: name.to_string(), description, parameters })
}

/// `(mode, allowed names)`; the mode defaults to AUTO.
fn calling_config(config: Option<&Value>) -> Result<(String, Vec<String>), ApiError> {
    let fc = config.and_then(|c| c.get("functionCallingConfig"));
    let mode = fc
        .and_then(|c| c.get("mode"))
        .and_then(Value::as_str)
        .filter(|m| *m != "MODE_UNSPECIFIED")
        .unwrap_or("AUTO")
        .to_string();
    let allowed: Vec<String> = fc
        .and_then(|c| c.get("allowedFunctionNames"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|n| n.as_str().map(String::from)).collect())
        .unwrap_or_default();
    if !allowed.is_empty() && !matches!(mode.as_str(), "ANY" | "VALIDATED") {
        return Err(ToolError::AllowedNeedsAnyMode { mode }.into());
    }
    Ok((mode, allowed))
}

fn answer(cfg: Option<&GenerationConfig>) -> Result<Answer, ApiError> {
    let Some(cfg) = cfg else { return Ok(Answer::Text) };
    let mime = cfg.response_mime_type.as_deref().unwrap_or("text/plain");
    let schema = match (&cfg.response_schema, &cfg.response_json_schema) {
        (Some(_), Some(_)) => {
            return Err(ToolError::BothResponseSchemas.into());
        }
        (Some(s), None) => Some(from_gemini(s, "generation_config.response_schema")?),
        (None, Some(s)) => Some(close_objects(s, "generation_config.response_json_schema")?),
        (None, None) => None,
    };
    match mime {
        "" | "text/plain" if schema.is_some() => Err(ToolError::SchemaNeedsStructuredMime.into()),
        "" | "text/plain" => Ok(Answer::Text),
        "application/json" => Ok(Answer::Json(schema.unwrap_or_else(any_json))),
        "text/x.enum" => {
            let values: Vec<String> = schema
                .as_ref()
                .and_then(|s| s.get("enum"))
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(|e| e.as_str().map(String::from)).collect())
                .unwrap_or_default();
            if values.is_empty() {
                return Err(ToolError::EnumNeedsValues.into());
            }
            Ok(Answer::Enum(values))
        }
        other => Err(ToolError::MimeUnsupported { mime: other.to_string() }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_wire::parse::parse_generate;

    /// The plan of `body` with a user turn added (a request needs contents to parse).
    fn plan_of(body: &str) -> Result<Plan, ApiError> {
        let mut v: Value = serde_json::from_str(body).unwrap();
        v["contents"] = json!([{"parts": [{"text": "hi"}]}]);
        plan(&parse_generate(v.to_string().as_bytes()).unwrap())
    }

    const WEATHER: &str = r#"{"name":"get_weather","description":"d","parameters":{"type":6,"properties":{"city":{"type":1}},"required":["city"]}}"#;

    #[test]
    fn generativeai_integer_enums_and_any_mode() {
        let p = plan_of(&format!(r#"{{"contents":[],"tools":[{{"functionDeclarations":[{WEATHER}]}}],"toolConfig":{{"functionCallingConfig":{{"mode":2,"allowedFunctionNames":["get_weather"]}}}}}}"#)).unwrap();
        assert_eq!(p.calls, Some(CallPolicy::Must));
        assert_eq!(
            p.declared[0].parameters,
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false})
        );
    }

    #[test]
    fn snake_case_json_schema_parameters_and_default_auto() {
        let p = plan_of(r#"{"contents":[],"tools":[{"function_declarations":[{"name":"f","parameters_json_schema":{"type":"object","properties":{"x":{"type":"string"}}}}]}]}"#).unwrap();
        assert_eq!(p.calls, Some(CallPolicy::May));
        assert_eq!(p.declared[0].parameters["additionalProperties"], false);
        let none = plan_of(r#"{"contents":[],"tools":[{"functionDeclarations":[{"name":"f"}]}],"tool_config":{"function_calling_config":{"mode":"NONE"}}}"#).unwrap();
        assert_eq!(none.calls, None);
    }

    #[test]
    fn bad_declarations_name_their_field() {
        let field = |body: &str| plan_of(body).unwrap_err().field().unwrap_or_default().into_owned();
        assert_eq!(
            field(r#"{"tools":[{"functionDeclarations":[{"name":"9lives"}]}]}"#),
            "tools[0].function_declarations[0].name"
        );
        assert_eq!(
            field(r#"{"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"STRING"}}]}]}"#),
            "tools[0].function_declarations[0].parameters.type"
        );
        assert_eq!(field(r#"{"tools":[{"googleSearch":{}}]}"#), "tools[0].google_search");
        assert_eq!(
            field(&format!(
                r#"{{"tools":[{{"functionDeclarations":[{WEATHER}]}}],"toolConfig":{{"functionCallingConfig":{{"mode":"ANY","allowedFunctionNames":["nope"]}}}}}}"#
            )),
            "tool_config.function_calling_config.allowed_function_names[0]"
        );
        assert_eq!(
            field(r#"{"generationConfig":{"responseSchema":{"type":"STRING"}}}"#),
            "generation_config.response_mime_type"
        );
    }

    #[test]
    fn response_formats() {
        let p = plan_of(r#"{"generationConfig":{"responseMimeType":"application/json"}}"#).unwrap();
        assert_eq!(p.answer, Answer::Json(any_json()));
        let p = plan_of(r#"{"generationConfig":{"responseMimeType":"text/x.enum","responseSchema":{"type":"STRING","enum":["a","b"]}}}"#).unwrap();
        assert_eq!(p.answer, Answer::Enum(vec!["a".into(), "b".into()]));
        let p = plan_of(r#"{"generationConfig":{"responseMimeType":"application/json","response_json_schema":{"type":"object","properties":{"a":{}}}}}"#).unwrap();
        assert_eq!(
            p.answer,
            Answer::Json(json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false}))
        );
    }
}
