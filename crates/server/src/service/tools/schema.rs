//! From the Gemini API's Schema (the OpenAPI 3.0 subset of `parameters` and `responseSchema`,
//! already normalised to lowerCamel keys and enum names) to the JSON Schema the grammar
//! compiler reads; and the one rule gemd adds to real JSON Schemas (`parametersJsonSchema`,
//! `responseJsonSchema`, OpenAI `parameters`): objects are closed (`additionalProperties:
//! false`) unless the schema says otherwise, because a constrained model otherwise pads
//! objects with invented keys. Both entry points first hold the schema to gemd's size limits
//! ([`gemd_engine::schema_limits`]), before anything here recurses into it.

use gemd_engine::schema_limits;
use serde_json::{json, Map, Value};

mod error;

pub use error::SchemaError;

/// String formats the grammar can enforce; any other `format` is documentation only.
const ENFORCED_FORMATS: &[&str] = &["date-time", "date", "time", "duration", "email", "hostname", "uuid", "uri"];

/// Converts a Gemini Schema at request path `at` (for errors) into JSON Schema.
pub fn from_gemini(schema: &Value, at: &str) -> Result<Value, SchemaError> {
    within_limits(schema, at)?;
    convert(schema, at)
}

/// A 400 naming `at` if `schema` is larger than gemd compiles.
fn within_limits(schema: &Value, at: &str) -> Result<(), SchemaError> {
    schema_limits::check(schema).map_err(|limit| SchemaError::TooLarge { at: at.to_string(), limit })
}

fn convert(schema: &Value, at: &str) -> Result<Value, SchemaError> {
    let Some(s) = schema.as_object() else {
        return Err(SchemaError::NotASchema { at: at.to_string() });
    };
    let mut out = Map::new();
    let kind = s.get("type").and_then(Value::as_str).filter(|t| *t != "TYPE_UNSPECIFIED").map(str::to_ascii_lowercase);
    if let Some(k) = &kind {
        out.insert("type".into(), json!(k));
    }
    for key in ["title", "description", "pattern"] {
        if let Some(v) = s.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for key in
        ["minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength", "minimum", "maximum"]
    {
        if let Some(v) = s.get(key) {
            out.insert(key.into(), number(v, &format!("{at}.{}", snake(key)))?);
        }
    }
    if let Some(format) = s.get("format").and_then(Value::as_str) {
        if kind.as_deref() == Some("string") && ENFORCED_FORMATS.contains(&format) {
            out.insert("format".into(), json!(format));
        }
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array).filter(|v| !v.is_empty()) {
        out.insert("enum".into(), enum_values(values, kind.as_deref(), &format!("{at}.enum"))?);
    }
    if let Some(items) = s.get("items") {
        out.insert("items".into(), convert(items, &format!("{at}.items"))?);
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let order: Vec<&str> = s
            .get("propertyOrdering")
            .and_then(Value::as_array)
            .map(|o| o.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut converted = Map::new();
        // Listed properties first, in the listed order; the rest as sent.
        for name in order.iter().copied().chain(props.keys().map(String::as_str)) {
            if let (Some(p), false) = (props.get(name), converted.contains_key(name)) {
                converted.insert(name.to_string(), convert(p, &format!("{at}.properties[{name}]"))?);
            }
        }
        out.insert("properties".into(), Value::Object(converted));
    }
    if let Some(required) = s.get("required") {
        out.insert("required".into(), required.clone());
    }
    if kind.as_deref() == Some("object") {
        out.insert("additionalProperties".into(), json!(false));
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let alternatives = any
            .iter()
            .enumerate()
            .map(|(i, a)| convert(a, &format!("{at}.any_of[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert("anyOf".into(), Value::Array(alternatives));
    }
    let out = Value::Object(out);
    Ok(if s.get("nullable") == Some(&json!(true)) { json!({"anyOf": [out, {"type": "null"}]}) } else { out })
}

/// `enum` holds strings on the wire; for a numeric type they must read as numbers.
fn enum_values(values: &[Value], kind: Option<&str>, at: &str) -> Result<Value, SchemaError> {
    match kind {
        Some("integer" | "number") => values
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|t| serde_json::from_str::<serde_json::Number>(t).ok())
                    .map(Value::Number)
                    .ok_or_else(|| SchemaError::EnumNotNumber {
                        value: v.clone(),
                        kind: kind.unwrap_or_default().to_string(),
                        at: at.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        _ => Ok(Value::Array(values.to_vec())),
    }
}

/// Integer fields arrive as numbers or (int64 in proto3 JSON) as decimal strings.
fn number(v: &Value, at: &str) -> Result<Value, SchemaError> {
    match v {
        Value::Number(_) => Ok(v.clone()),
        Value::String(s) => serde_json::from_str::<serde_json::Number>(s)
            .map(Value::Number)
            .map_err(|_| SchemaError::NumberText { text: s.clone(), at: at.to_string() }),
        other => Err(SchemaError::NotANumber { value: other.clone(), at: at.to_string() }),
    }
}

/// A lowerCamel JSON name's snake_case proto name (`maxItems` → `max_items`), for field paths.
pub fn snake(camel: &str) -> String {
    camel.chars().fold(String::new(), |mut s, c| {
        if c.is_ascii_uppercase() {
            s.push('_');
        }
        s.push(c.to_ascii_lowercase());
        s
    })
}

/// Whether a JSON Schema describes an object (by `type` or by having `properties`).
fn is_object_schema(s: &Map<String, Value>) -> bool {
    s.contains_key("properties")
        || match s.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
            _ => false,
        }
}

/// `schema` (a JSON Schema at request path `at`, for errors) with every object closed unless
/// it says what extra keys may hold, and the non-standard `propertyOrdering` applied to
/// `properties`.
pub fn close_objects(schema: &Value, at: &str) -> Result<Value, SchemaError> {
    within_limits(schema, at)?;
    Ok(close(schema))
}

fn close(schema: &Value) -> Value {
    let Value::Object(s) = schema else { return schema.clone() };
    let mut out = Map::new();
    let order: Vec<String> = s
        .get("propertyOrdering")
        .and_then(Value::as_array)
        .map(|o| o.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    for (key, value) in s {
        let closed = match key.as_str() {
            "propertyOrdering" => continue,
            "properties" | "$defs" | "definitions" | "patternProperties" => match value {
                Value::Object(map) => {
                    let mut names: Vec<&String> =
                        order.iter().filter_map(|n| map.get_key_value(n).map(|(k, _)| k)).collect();
                    names.extend(map.keys().filter(|k| key != "properties" || !order.contains(k)));
                    Value::Object(names.into_iter().map(|k| (k.clone(), close(&map[k]))).collect())
                }
                other => other.clone(),
            },
            "items" | "additionalProperties" | "additionalItems" | "not" => close(value),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => match value {
                Value::Array(list) => Value::Array(list.iter().map(close).collect()),
                other => close(other),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), closed);
    }
    if is_object_schema(s) && !s.contains_key("additionalProperties") && !s.contains_key("patternProperties") {
        out.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// Whether a converted (JSON) schema describes objects, as function parameters must.
pub fn describes_object(schema: &Value) -> bool {
    schema.as_object().is_some_and(is_object_schema)
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_schema_becomes_closed_json_schema_in_property_order() {
        let s = json!({"type": "OBJECT", "properties": {"b": {"type": "INTEGER", "minimum": 1, "maximum": 5}, "a": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["x", "y"], "format": "enum"}, "maxItems": "3"}},
                       "required": ["a"], "propertyOrdering": ["a", "b"]});
        let j = from_gemini(&s, "p").unwrap();
        assert_eq!(
            j,
            json!({"type": "object", "properties": {"a": {"type": "array", "maxItems": 3, "items": {"type": "string", "enum": ["x", "y"]}}, "b": {"type": "integer", "minimum": 1, "maximum": 5}},
                   "required": ["a"], "additionalProperties": false})
        );
        assert_eq!(serde_json::to_string(&j["properties"]).unwrap().find("\"a\""), Some(1));
    }

    #[test]
    fn nullable_and_any_of() {
        let j = from_gemini(&json!({"type": "STRING", "nullable": true}), "p").unwrap();
        assert_eq!(j, json!({"anyOf": [{"type": "string"}, {"type": "null"}]}));
        let j = from_gemini(&json!({"anyOf": [{"type": "INTEGER"}, {"type": "BOOLEAN"}]}), "p").unwrap();
        assert_eq!(j, json!({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}));
    }

    #[test]
    fn numeric_enums_must_be_numbers() {
        assert_eq!(from_gemini(&json!({"type": "INTEGER", "enum": ["1", "2"]}), "p").unwrap()["enum"], json!([1, 2]));
        let e = from_gemini(&json!({"type": "INTEGER", "enum": ["one"]}), "x.parameters").unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
    }

    #[test]
    fn json_schemas_are_closed_unless_they_say_otherwise() {
        let s = json!({"type": "object", "properties": {"n": {"type": "object", "properties": {}}, "open": {"type": "object", "additionalProperties": true}}, "$defs": {"d": {"properties": {"x": {}}}}});
        let c = close_objects(&s, "p").unwrap();
        assert_eq!(c["additionalProperties"], false);
        assert_eq!(c["properties"]["n"]["additionalProperties"], false);
        assert_eq!(c["properties"]["open"]["additionalProperties"], true);
        assert_eq!(c["$defs"]["d"]["additionalProperties"], false);
        let ordered =
            close_objects(&json!({"properties": {"a": {}, "b": {}}, "propertyOrdering": ["b", "a"]}), "p").unwrap();
        assert_eq!(ordered["properties"].as_object().unwrap().keys().collect::<Vec<_>>(), ["b", "a"]);
        assert!(ordered.get("propertyOrdering").is_none());
    }

    #[test]
    fn oversized_schemas_are_refused_naming_their_field() {
        let deep = (0..100).fold(json!({"type": "STRING"}), |inner, _| json!({"type": "ARRAY", "items": inner}));
        let field = |e: SchemaError| (e.field().to_string(), e.to_string());
        let (at, message) = field(from_gemini(&deep, "generation_config.response_schema").unwrap_err());
        assert_eq!(at, "generation_config.response_schema");
        assert!(message.contains("nesting depth"), "{message}");
        let props: Map<String, Value> =
            (0..schema_limits::MAX_OBJECT_PROPERTIES + 1).map(|i| (format!("p{i}"), json!({}))).collect();
        let (at, message) =
            field(close_objects(&json!({"properties": props}), "response_format.json_schema.schema").unwrap_err());
        assert_eq!(at, "response_format.json_schema.schema");
        assert!(message.contains("properties"), "{message}");
    }
}
