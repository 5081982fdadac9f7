//! How constrained output is spelled, whatever backend enforces it: JSON is written compactly
//! (`", "` and `": "` separators, no other whitespace) and numbers have at most 15 integer
//! and 6 fractional digits, so that a small model can neither pad a document with endless
//! blank lines nor write `5.000000…` until its token budget runs out. Both only narrow what
//! the schema allows: every output still validates against the schema as sent.

use std::sync::OnceLock;

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::ApproximateTokEnv;
use llguidance::{Matcher, ParserFactory};
use serde_json::{json, Value};

use crate::api::Constraint;

/// The JSON style options llguidance reads from a schema's `x-guidance` key.
fn json_style() -> Value {
    json!({"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": ", "coerce_one_of": true})
}

/// The largest magnitude and the finest step of a generated number.
const NUMBER_LIMIT: f64 = 1e15;
const NUMBER_STEP: f64 = 1e-6;

/// `schema` with gemd's JSON style attached (a boolean schema is wrapped first).
pub fn styled_schema(schema: &Value) -> Value {
    let mut out = match schema {
        Value::Object(_) => schema.clone(),
        Value::Bool(true) => json!({}),
        other => json!({"allOf": [other]}),
    };
    bound_numbers(&mut out);
    out.as_object_mut().expect("made an object above").insert("x-guidance".into(), json_style());
    out
}

/// Adds the number limits to every subschema that may be a number, unless the schema's own
/// bounds are tighter (or would contradict them).
fn bound_numbers(schema: &mut Value) {
    let Value::Object(s) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(bound_numbers);
        }
        return;
    };
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fractional = types.contains(&"number");
    if fractional || types.contains(&"integer") {
        let min = s.get("minimum").and_then(Value::as_f64);
        let max = s.get("maximum").and_then(Value::as_f64);
        if max.is_none() && !matches!(min, Some(m) if m >= NUMBER_LIMIT) {
            s.insert("maximum".into(), json!(NUMBER_LIMIT));
        }
        if min.is_none() && !matches!(max, Some(m) if m <= -NUMBER_LIMIT) {
            s.insert("minimum".into(), json!(-NUMBER_LIMIT));
        }
        if fractional && !s.contains_key("multipleOf") {
            s.insert("multipleOf".into(), json!(NUMBER_STEP));
        }
    }
    for (key, value) in s.iter_mut() {
        // Literal values are data, not subschemas.
        if !matches!(key.as_str(), "enum" | "const" | "default" | "examples" | "example") {
            bound_numbers(value);
        }
    }
}

/// A schema for any JSON value (an `application/json` answer without a schema), spelled out
/// so that its numbers get the limits too.
pub fn any_json() -> Value {
    json!({"$defs": {"json": {"anyOf": [
        {"type": "null"}, {"type": "boolean"}, {"type": "number"}, {"type": "string"},
        {"type": "array", "items": {"$ref": "#/$defs/json"}},
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/json"}}
    ]}}, "$ref": "#/$defs/json"})
}

/// A `%json {…}` Lark item that matches one document valid against `schema`, in gemd's style.
pub fn embed_json_schema(schema: &Value) -> String {
    format!("%json {}", styled_schema(schema))
}

/// The llguidance grammar of `constraint`.
pub(crate) fn top_level(constraint: &Constraint) -> TopLevelGrammar {
    match constraint {
        Constraint::JsonSchema(schema) => TopLevelGrammar::from_json_schema(styled_schema(schema)),
        Constraint::Lark(text) => TopLevelGrammar::from_lark(text.clone()),
    }
}

/// Compiles `constraint` with `factory`: a matcher at the start of its language, or the
/// compiler's complaint (first line only; verbose errors append the whole grammar).
pub(crate) fn compile(factory: &ParserFactory, constraint: &Constraint) -> Result<Matcher, String> {
    let clean = |e: &str| e.lines().next().unwrap_or(e).trim().to_string();
    let parser = factory.create_parser(top_level(constraint)).map_err(|e| clean(&e.to_string()))?;
    let matcher = Matcher::new(Ok(parser));
    match matcher.get_error() {
        Some(e) => Err(clean(&e)),
        None => Ok(matcher),
    }
}

/// Whether `constraint` compiles, checked against a byte-level vocabulary (no model needed):
/// the same grammar compiler the engine runs, for tests and early checks.
pub fn check(constraint: &Constraint) -> Result<(), String> {
    static FACTORY: OnceLock<Result<ParserFactory, String>> = OnceLock::new();
    let factory = FACTORY
        .get_or_init(|| {
            let mut f = ParserFactory::new_simple(&ApproximateTokEnv::single_byte_env()).map_err(|e| e.to_string())?;
            f.quiet();
            Ok(f)
        })
        .as_ref()
        .map_err(Clone::clone)?;
    compile(factory, constraint).map(drop)
}

/// A Lark string literal matching exactly `text`.
pub fn lark_literal(text: &str) -> String {
    // Lark literals use JSON's escapes.
    serde_json::to_string(text).expect("strings serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_is_attached_without_touching_the_schema() {
        let s = styled_schema(&json!({"type": "object"}));
        assert_eq!(s["type"], "object");
        assert_eq!(s["x-guidance"]["whitespace_flexible"], false);
        assert!(embed_json_schema(&json!({"type": "integer"})).starts_with("%json {\"type\":\"integer\""));
    }

    #[test]
    fn numbers_are_bounded_without_contradicting_the_schema() {
        let s = styled_schema(&json!({"type": "object", "properties": {"n": {"type": ["number", "null"]}, "i": {"type": "integer", "minimum": 1e16}, "e": {"enum": [{"type": "number"}]}}}));
        assert_eq!((&s["properties"]["n"]["maximum"], &s["properties"]["n"]["multipleOf"]), (&json!(1e15), &json!(1e-6)));
        assert!(s["properties"]["i"].get("maximum").is_none() && s["properties"]["i"].get("multipleOf").is_none());
        assert_eq!(s["properties"]["e"]["enum"][0], json!({"type": "number"}));
        assert!(check(&Constraint::JsonSchema(s)).is_ok());
        assert!(check(&Constraint::JsonSchema(any_json())).is_ok());
    }

    #[test]
    fn bad_grammars_are_reported_not_aborted() {
        assert!(check(&Constraint::Lark("start: \"a\" | \"b\"".into())).is_ok());
        assert!(check(&Constraint::JsonSchema(json!({"type": "object", "properties": {"a": {"type": "integer"}}}))).is_ok());
        assert!(check(&Constraint::Lark("start: nowhere".into())).is_err());
        let e = check(&Constraint::JsonSchema(json!({"type": "string", "if": {}}))).unwrap_err();
        assert!(e.contains("if"), "{e}");
    }

    #[test]
    fn literals_escape_quotes_and_newlines() {
        assert_eq!(lark_literal("a\"b\n"), r#""a\"b\n""#);
    }
}
