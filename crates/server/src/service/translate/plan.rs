//! Tools, tool choice and answer format between OpenAI chat completions and the
//! surface-neutral [`Plan`], both ways: [`from_openai`] reads a chat-completions request's
//! `tools` (`type: function` with a JSON Schema `parameters`), `tool_choice` (`none`, `auto`,
//! `required`, or one named function: Gemini's NONE, AUTO, ANY and ANY with one allowed name)
//! and `response_format` (`json_object`, `json_schema`), each checked with a 400 that names the
//! field (gemd's OpenAI layer); [`to_openai`] writes a plan, read from a Gemini request, as
//! those fields (an OpenAI-compatible upstream).
//!
//! Written out: declared functions a Gemini request does not allow now (`allowedFunctionNames`)
//! are left out, since OpenAI has no "declared but not callable"; ANY with several allowed
//! names is `required` over just those; an enum answer (`text/x.enum`) is a JSON Schema string
//! enum, whose quoted answer [`unquote_enum`] reads back; any JSON is `json_object`.

use gemd_engine::constraint::any_json;
use gemd_engine::{CallPolicy, ToolSpec};
use gemd_wire::openai::{ChatCompletionRequest, ResponseFormat};
use serde_json::{json, Map, Value};

use crate::service::error::ApiError;
use crate::service::tools::names::check_function_name;
use crate::service::tools::plan::{Answer, Plan, MAX_PARALLEL_CALLS};
use crate::service::tools::schema::{close_objects, describes_object};
use crate::service::tools::ToolError;

pub fn from_openai(req: &ChatCompletionRequest) -> Result<Plan, ApiError> {
    let declared = req.tools.iter().enumerate().map(|(i, t)| tool(t, i)).collect::<Result<Vec<_>, _>>()?;
    let mut callable: Vec<String> = declared.iter().map(|t| t.name.clone()).collect();
    let calls = match &req.tool_choice {
        None | Some(Value::Null) => (!declared.is_empty()).then_some(CallPolicy::May),
        Some(Value::String(s)) => match s.as_str() {
            "none" => None,
            "auto" => (!declared.is_empty()).then_some(CallPolicy::May),
            "required" if !declared.is_empty() => Some(CallPolicy::Must),
            "required" => return Err(ToolError::RequiredWithoutTools.into()),
            other => return Err(bad_choice(&json!(other))),
        },
        Some(choice @ Value::Object(o)) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad_choice(choice))?;
            if !callable.iter().any(|n| n == name) {
                return Err(ToolError::ChoiceNotATool { name: name.to_string() }.into());
            }
            callable = vec![name.to_string()];
            Some(CallPolicy::Must)
        }
        Some(other) => return Err(bad_choice(other)),
    };
    // `parallel_tool_calls: false`: at most one call per answer.
    let max_calls = if req.parallel_tool_calls == Some(false) { 1 } else { MAX_PARALLEL_CALLS };
    Ok(Plan { declared, callable, calls, max_calls, answer: answer(req.response_format.as_ref())? })
}

fn bad_choice(v: &Value) -> ApiError {
    ToolError::BadToolChoice { got: v.clone() }.into()
}

fn tool(t: &Value, i: usize) -> Result<ToolSpec, ApiError> {
    let kind = t.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "function" {
        return Err(ToolError::ToolTypeUnsupported { kind: kind.to_string(), tool: i }.into());
    }
    let f = t.get("function").ok_or(ToolError::FunctionMissing { tool: i })?;
    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
    let at = format!("tools[{i}].function");
    check_function_name(name, &format!("{at}.name"))?;
    let parameters = match f.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}, "additionalProperties": false}),
        Some(p) if describes_object(p) => close_objects(p, &format!("{at}.parameters"))?,
        Some(_) => return Err(ToolError::OpenAiParametersNotObject { name: name.to_string(), tool: i }.into()),
    };
    let description = f.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(ToolSpec { name: name.to_string(), description, parameters })
}

fn answer(format: Option<&ResponseFormat>) -> Result<Answer, ApiError> {
    let Some(format) = format else { return Ok(Answer::Text) };
    match format.kind.as_str() {
        "" | "text" => Ok(Answer::Text),
        "json_object" => {
            let mut object = any_json();
            object["type"] = json!("object");
            object["additionalProperties"] = json!({"$ref": "#/$defs/json"});
            object.as_object_mut().expect("an object").remove("$ref");
            Ok(Answer::Json(object))
        }
        "json_schema" => {
            let schema =
                format.json_schema.as_ref().and_then(|j| j.get("schema")).ok_or(ToolError::JsonSchemaMissing)?;
            Ok(Answer::Json(close_objects(schema, "response_format.json_schema.schema")?))
        }
        kind => Err(ToolError::ResponseFormatUnsupported { kind: kind.to_string() }.into()),
    }
}

/// The plan as OpenAI request fields, into `body`.
pub fn to_openai(plan: &Plan, body: &mut Map<String, Value>) {
    let callable: Vec<&ToolSpec> = plan.declared.iter().filter(|t| plan.callable.contains(&t.name)).collect();
    let tools: Vec<&ToolSpec> = if plan.calls.is_some() { callable.clone() } else { plan.declared.iter().collect() };
    if !tools.is_empty() {
        let tools = tools.iter().map(|t| {
            json!({"type": "function",
                   "function": {"name": t.name, "description": t.description, "parameters": t.parameters}})
        });
        body.insert("tools".into(), Value::Array(tools.collect()));
        let choice = match (plan.calls, callable.as_slice()) {
            (None, _) => json!("none"),
            (Some(CallPolicy::May), _) => json!("auto"),
            (Some(CallPolicy::Must), [one]) => json!({"type": "function", "function": {"name": one.name}}),
            (Some(CallPolicy::Must), _) => json!("required"),
        };
        body.insert("tool_choice".into(), choice);
        if plan.max_calls == 1 {
            body.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    let format = match &plan.answer {
        Answer::Text => return,
        Answer::Json(schema) if *schema == any_json() => json!({"type": "json_object"}),
        Answer::Json(schema) => json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}),
        Answer::Enum(values) => json!({"type": "json_schema",
            "json_schema": {"name": "response", "schema": {"type": "string", "enum": values}}}),
    };
    body.insert("response_format".into(), format);
}

/// The answer of an enum plan as Gemini gives it: the value itself, where the upstream wrote
/// it as the JSON string its schema asked for.
pub fn unquote_enum(plan: &Plan, text: String) -> String {
    match (&plan.answer, serde_json::from_str::<Value>(text.trim())) {
        (Answer::Enum(_), Ok(Value::String(value))) => value,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_wire::openai::parse_chat_completion;

    fn plan_of(extra: &str) -> Result<Plan, ApiError> {
        from_openai(
            &parse_chat_completion(
                format!(r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}]{extra}}}"#).as_bytes(),
            )
            .unwrap(),
        )
    }

    const TOOLS: &str = r#","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"now"}}]"#;

    #[test]
    fn tool_choices() {
        assert_eq!(plan_of(TOOLS).unwrap().calls, Some(CallPolicy::May));
        assert_eq!(plan_of(&format!(r#"{TOOLS},"tool_choice":"none""#)).unwrap().calls, None);
        assert_eq!(plan_of(&format!(r#"{TOOLS},"tool_choice":"required""#)).unwrap().calls, Some(CallPolicy::Must));
        let named =
            plan_of(&format!(r#"{TOOLS},"tool_choice":{{"type":"function","function":{{"name":"now"}}}}"#)).unwrap();
        assert_eq!((named.calls, named.callable), (Some(CallPolicy::Must), vec!["now".to_string()]));
        assert!(
            plan_of(&format!(r#"{TOOLS},"tool_choice":{{"type":"function","function":{{"name":"later"}}}}"#)).is_err()
        );
        assert_eq!(plan_of(TOOLS).unwrap().declared[0].parameters["additionalProperties"], false);
        assert_eq!(plan_of(&format!(r#"{TOOLS},"parallel_tool_calls":false"#)).unwrap().max_calls, 1);
    }

    #[test]
    fn response_formats() {
        let Answer::Json(object) = plan_of(r#","response_format":{"type":"json_object"}"#).unwrap().answer else {
            panic!()
        };
        assert_eq!(object["type"], "object");
        assert!(gemd_engine::constraint::check(&gemd_engine::Constraint::JsonSchema(object)).is_ok());
        let p = plan_of(r#","response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}"#).unwrap();
        assert_eq!(
            p.answer,
            Answer::Json(
                json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false})
            )
        );
        assert!(plan_of(r#","response_format":{"type":"xml"}"#).is_err());
    }

    #[test]
    fn a_gemini_plan_is_written_as_openai_fields() {
        let weather =
            ToolSpec { name: "get_weather".into(), description: "d".into(), parameters: json!({"type": "object"}) };
        let now = ToolSpec { name: "now".into(), description: String::new(), parameters: json!({"type": "object"}) };
        let fields = |plan: Plan| {
            let mut body = Map::new();
            to_openai(&plan, &mut body);
            Value::Object(body)
        };
        let declared = vec![weather.clone(), now.clone()];
        let auto = Plan {
            declared: declared.clone(),
            callable: vec!["get_weather".into(), "now".into()],
            calls: Some(CallPolicy::May),
            ..Plan::default()
        };
        let v = fields(auto.clone());
        assert_eq!((v["tool_choice"].clone(), v["tools"].as_array().unwrap().len()), (json!("auto"), 2));
        assert_eq!(v["tools"][0]["function"]["parameters"], json!({"type": "object"}));
        let one = Plan { callable: vec!["now".into()], calls: Some(CallPolicy::Must), ..auto.clone() };
        let v = fields(one);
        assert_eq!(v["tool_choice"], json!({"type": "function", "function": {"name": "now"}}));
        assert_eq!(v["tools"].as_array().unwrap().len(), 1, "only what may be called now");
        assert_eq!(fields(Plan { calls: Some(CallPolicy::Must), ..auto.clone() })["tool_choice"], "required");
        assert_eq!(fields(Plan { calls: None, ..auto })["tool_choice"], "none");
        // Read back by the OpenAI layer, the written fields give the same plan.
        let any = Plan { answer: Answer::Json(any_json()), ..Plan::default() };
        assert_eq!(fields(any)["response_format"], json!({"type": "json_object"}));
        let enumerated = Plan { answer: Answer::Enum(vec!["A".into(), "B".into()]), ..Plan::default() };
        assert_eq!(fields(enumerated.clone())["response_format"]["json_schema"]["schema"]["enum"], json!(["A", "B"]));
        assert_eq!(unquote_enum(&enumerated, "\"B\"".into()), "B");
        assert_eq!(unquote_enum(&Plan::default(), "\"B\"".into()), "\"B\"");
        assert!(fields(Plan::default()).as_object().unwrap().is_empty());
    }
}
