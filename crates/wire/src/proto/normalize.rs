//! Applies the proto3 JSON mapping to a request body: every key is rewritten to its lowerCamel
//! JSON name, enum numbers become names, base64 becomes standard padded base64, `null` means
//! "absent". Everything the proto does not know is collected as a violation with the real
//! service's wording and snake_case field path, so the caller can answer 400 with them all.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::descriptor::{Card, Field, Kind, Message};

/// One problem found in a request body: the `google.rpc.BadRequest.FieldViolation` shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The snake_case path of the enclosing field (`generation_config`), absent at top level.
    pub field: Option<String>,
    pub description: String,
}

/// Normalises `value` as an instance of `message`. Returns the canonical value, or every
/// violation found (the walk does not stop at the first one).
pub fn normalize(message: &'static Message, value: Value) -> Result<Value, Vec<Violation>> {
    let mut violations = Vec::new();
    let out = match value {
        Value::Object(obj) => Value::Object(walk_message(message, obj, "", &mut violations)),
        other => {
            violations.push(Violation {
                field: None,
                description: format!("Invalid JSON payload received. Expected an object, got {}.", short(&other)),
            });
            Value::Null
        }
    };
    if violations.is_empty() {
        Ok(out)
    } else {
        Err(violations)
    }
}

fn walk_message(
    msg: &'static Message,
    obj: Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) -> Map<String, Value> {
    let mut result = Map::new();
    for (key, value) in obj {
        let Some(field) = msg.field(&key) else {
            let at = if path.is_empty() { String::new() } else { format!(" at '{path}'") };
            out.push(Violation {
                field: (!path.is_empty()).then(|| path.to_string()),
                description: format!("Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field."),
            });
            continue;
        };
        if value.is_null() {
            continue;
        }
        let field_path = join(path, field.proto);
        if let Some(v) = walk_field(field, value, &field_path, out) {
            // Two spellings of one field in one body: the later one wins, as in protobuf.
            result.insert(field.json.to_string(), v);
        }
    }
    result
}

fn walk_field(field: &'static Field, value: Value, path: &str, out: &mut Vec<Violation>) -> Option<Value> {
    match field.card {
        Card::One => walk_value(field.kind, value, path, out),
        Card::Repeated => match value {
            Value::Array(items) => Some(Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| walk_value(field.kind, v, &format!("{path}[{i}]"), out))
                    .collect(),
            )),
            other => {
                out.push(invalid(path, "a list", &other));
                None
            }
        },
        Card::Map => match value {
            Value::Object(entries) => Some(Value::Object(
                entries
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, (k, v))| {
                        walk_value(field.kind, v, &format!("{path}[{i}].value"), out).map(|v| (k, v))
                    })
                    .collect(),
            )),
            other => {
                out.push(invalid(path, "an object", &other));
                None
            }
        },
    }
}

fn walk_value(kind: Kind, value: Value, path: &str, out: &mut Vec<Violation>) -> Option<Value> {
    let ok = match (kind, &value) {
        (Kind::Json, _) | (Kind::Struct, Value::Object(_)) => return Some(value),
        (Kind::Str, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => return Some(value),
        (Kind::Int, v) => int_value(v).map(Value::Number),
        (Kind::Int32, v) => {
            int_value(v).filter(|n| n.as_i64().is_some_and(|n| i32::try_from(n).is_ok())).map(Value::Number)
        }
        (Kind::Float, v) => float_value(v),
        (Kind::Bytes, Value::String(s)) => decode_base64(s).map(|b| Value::String(STANDARD.encode(b))),
        (Kind::Enum(e), v) => e.resolve(v).map(|n| Value::String(n.to_string())),
        (Kind::Message(m), Value::Object(_)) => {
            let Value::Object(obj) = value else { unreachable!() };
            return Some(Value::Object(walk_message(m, obj, path, out)));
        }
        _ => None,
    };
    if ok.is_none() {
        let type_name = match kind {
            Kind::Str => "TYPE_STRING".to_string(),
            Kind::Bool => "TYPE_BOOL".to_string(),
            Kind::Int => "TYPE_INT64".to_string(),
            Kind::Int32 => "TYPE_INT32".to_string(),
            Kind::Float => "TYPE_FLOAT".to_string(),
            Kind::Bytes => "TYPE_BYTES".to_string(),
            Kind::Enum(e) => e.full_name.to_string(),
            Kind::Message(m) => m.full_name.to_string(),
            Kind::Struct => "type.googleapis.com/google.protobuf.Struct".to_string(),
            Kind::Json => unreachable!(),
        };
        let detail = match (kind, &value) {
            (Kind::Bytes, Value::String(s)) => format!("Base64 decoding failed for \"{}\"", truncate(s)),
            _ => short(&value),
        };
        out.push(Violation {
            field: Some(path.to_string()),
            description: format!("Invalid value at '{path}' ({type_name}), {detail}"),
        });
    }
    ok
}

fn int_value(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.clone()),
        // google-genai sends `topK: 40.0`; protobuf accepts integral floats for int fields.
        Value::Number(n) => n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| Number::from(f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok().map(Number::from),
        _ => None,
    }
}

fn float_value(v: &Value) -> Option<Value> {
    match v {
        Value::Number(_) => Some(v.clone()),
        Value::String(s) => {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).and_then(Number::from_f64).map(Value::Number)
        }
        _ => None,
    }
}

/// Decodes standard or URL-safe base64, padded or not (proto3 JSON accepts all four).
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(s).ok())
}

fn invalid(path: &str, expected: &str, got: &Value) -> Violation {
    Violation {
        field: Some(path.to_string()),
        description: format!("Invalid value at '{path}': expected {expected}, got {}", short(got)),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn short(v: &Value) -> String {
    truncate(&v.to_string())
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}…", s.chars().take(64).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::messages::GENERATE_CONTENT_REQUEST;
    use serde_json::json;

    #[test]
    fn snake_and_camel_mix_normalise_to_camel() {
        let v = normalize(
            &GENERATE_CONTENT_REQUEST,
            json!({"contents":[{"parts":[{"inline_data":{"mime_type":"image/png","data":"-_8="}}]}],
                   "generation_config":{"topK":40.0,"max_output_tokens":"12"}}),
        )
        .unwrap();
        assert_eq!(v["contents"][0]["parts"][0]["inlineData"]["mimeType"], "image/png");
        assert_eq!(v["contents"][0]["parts"][0]["inlineData"]["data"], "+/8=");
        assert_eq!(v["generationConfig"]["topK"], 40);
        assert_eq!(v["generationConfig"]["maxOutputTokens"], 12);
    }

    #[test]
    fn enum_numbers_become_names() {
        let v = normalize(
            &GENERATE_CONTENT_REQUEST,
            json!({"contents":[],"toolConfig":{"functionCallingConfig":{"mode":2}},
                   "tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":6,"properties":{"a":{"type":"string"}}}}]}]}),
        )
        .unwrap();
        assert_eq!(v["toolConfig"]["functionCallingConfig"]["mode"], "ANY");
        assert_eq!(v["tools"][0]["functionDeclarations"][0]["parameters"]["type"], "OBJECT");
        assert_eq!(v["tools"][0]["functionDeclarations"][0]["parameters"]["properties"]["a"]["type"], "STRING");
    }

    #[test]
    fn unknown_fields_are_reported_with_proto_paths() {
        let errs = normalize(
            &GENERATE_CONTENT_REQUEST,
            json!({"foo":1,"generationConfig":{"effortLevel":"x"},
                   "tools":[{"functionDeclarations":[{"name":"f","parameters":{"properties":{"a":{"const":1}}}}]}]}),
        )
        .unwrap_err();
        assert_eq!(
            errs[0],
            Violation {
                field: None,
                description: "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.".into()
            }
        );
        assert_eq!(errs[1].field.as_deref(), Some("generation_config"));
        assert_eq!(
            errs[1].description,
            "Invalid JSON payload received. Unknown name \"effortLevel\" at 'generation_config': Cannot find field."
        );
        assert_eq!(errs[2].field.as_deref(), Some("tools[0].function_declarations[0].parameters.properties[0].value"));
    }

    #[test]
    fn wrong_types_and_enum_names_are_rejected() {
        let errs = normalize(
            &GENERATE_CONTENT_REQUEST,
            json!({"generationConfig":{"temperature":"hot","responseSchema":{"type":"foo"}},"contents":{"a":1}}),
        )
        .unwrap_err();
        let text: Vec<_> = errs.iter().map(|e| e.description.as_str()).collect();
        assert!(text.contains(&"Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\""), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("Invalid value at 'generation_config.response_schema.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), \"foo\"")));
        assert!(text.iter().any(|t| t.starts_with("Invalid value at 'contents'")));
    }

    #[test]
    fn null_means_absent_and_bad_base64_is_named() {
        let v = normalize(&GENERATE_CONTENT_REQUEST, json!({"contents":null})).unwrap();
        assert_eq!(v, json!({}));
        let errs = normalize(
            &GENERATE_CONTENT_REQUEST,
            json!({"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"***"}}]}]}),
        )
        .unwrap_err();
        assert!(errs[0].description.contains("Base64 decoding failed"));
    }
}
