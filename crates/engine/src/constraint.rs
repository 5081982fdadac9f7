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

/// The stack a grammar compiles on. llguidance's compilers recurse (per property, per level):
/// a 7,000-property object needed more than the 2 MiB a tokio worker has. At the
/// [`crate::schema_limits`] the largest need measured is 223 KiB (tests/schema_limits_cost.rs),
/// so this leaves room for grammars holding many schemas (one per declared function). The
/// reservation is virtual: only the pages a compile touches are used.
pub const COMPILE_STACK_BYTES: usize = 16 << 20;

/// The llguidance grammar of `constraint`, or why gemd will not compile it.
fn top_level(constraint: &Constraint) -> Result<TopLevelGrammar, String> {
    match constraint {
        Constraint::JsonSchema(schema) => {
            // Checked here too (the server names the field first): `styled_schema` recurses.
            crate::schema_limits::check(schema).map_err(|e| format!("the schema {e}"))?;
            Ok(TopLevelGrammar::from_json_schema(styled_schema(schema)))
        }
        Constraint::Lark(text) => Ok(TopLevelGrammar::from_lark(text.clone())),
    }
}

/// Sets what every gemd grammar compiler shares: no logging (errors go to the client), and
/// short errors (verbose ones append the whole grammar and parser state).
pub(crate) fn configure(factory: &mut ParserFactory) {
    factory.quiet();
    factory.limits_mut().verbose_errors = false;
}

/// Compiles `constraint` with `factory`: a matcher at the start of its language, or the
/// compiler's complaint (first line only). The first token mask is computed here too: a
/// grammar that compiles but admits no output (`{"$ref": "#"}`, a `$ref` cycle) fails its
/// first mask, and is a request error like any other bad grammar. Deep recursion: run it on
/// a thread with [`COMPILE_STACK_BYTES`] of stack.
pub(crate) fn compile(factory: &ParserFactory, constraint: &Constraint) -> Result<Matcher, String> {
    let clean = |e: &str| e.lines().next().unwrap_or(e).trim().to_string();
    let parser = factory.create_parser(top_level(constraint)?).map_err(|e| clean(&e.to_string()))?;
    let mut matcher = Matcher::new(Ok(parser));
    if let Some(e) = matcher.get_error() {
        return Err(clean(&e));
    }
    match matcher.compute_mask() {
        Ok(mask) if !mask.is_zero() => Ok(matcher),
        Ok(_) => Err(NO_OUTPUT.into()),
        Err(e) => {
            let e = clean(&e.to_string());
            // llguidance names the empty mask by its stop reason only.
            Err(if e.ends_with("NoExtensionBias") { NO_OUTPUT.into() } else { e })
        }
    }
}

const NO_OUTPUT: &str = "it admits no output at all (is there a $ref cycle that never reaches a value?)";

/// Whether `constraint` compiles, checked against a byte-level vocabulary (no model needed):
/// the same grammar compiler the engine runs, for tests and early checks. CPU work of up to
/// a second at the schema limits: never call it on an async worker.
pub fn check(constraint: &Constraint) -> Result<(), String> {
    static FACTORY: OnceLock<Result<ParserFactory, String>> = OnceLock::new();
    let factory = FACTORY
        .get_or_init(|| {
            let mut f = ParserFactory::new_simple(&ApproximateTokEnv::single_byte_env()).map_err(|e| e.to_string())?;
            configure(&mut f);
            Ok(f)
        })
        .as_ref()
        .map_err(Clone::clone)?;
    std::thread::scope(|scope| {
        let compiling = std::thread::Builder::new()
            .stack_size(COMPILE_STACK_BYTES)
            .spawn_scoped(scope, || compile(factory, constraint).map(drop));
        compiling
            .map_err(|e| format!("spawning a compile thread: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("the grammar compiler panicked".into()))
    })
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
        let s = styled_schema(
            &json!({"type": "object", "properties": {"n": {"type": ["number", "null"]}, "i": {"type": "integer", "minimum": 1e16}, "e": {"enum": [{"type": "number"}]}}}),
        );
        assert_eq!(
            (&s["properties"]["n"]["maximum"], &s["properties"]["n"]["multipleOf"]),
            (&json!(1e15), &json!(1e-6))
        );
        assert!(s["properties"]["i"].get("maximum").is_none() && s["properties"]["i"].get("multipleOf").is_none());
        assert_eq!(s["properties"]["e"]["enum"][0], json!({"type": "number"}));
        assert!(check(&Constraint::JsonSchema(s)).is_ok());
        assert!(check(&Constraint::JsonSchema(any_json())).is_ok());
    }

    #[test]
    fn bad_grammars_are_reported_not_aborted() {
        assert!(check(&Constraint::Lark("start: \"a\" | \"b\"".into())).is_ok());
        assert!(
            check(&Constraint::JsonSchema(json!({"type": "object", "properties": {"a": {"type": "integer"}}}))).is_ok()
        );
        assert!(check(&Constraint::Lark("start: nowhere".into())).is_err());
        let e = check(&Constraint::JsonSchema(json!({"type": "string", "if": {}}))).unwrap_err();
        assert!(e.contains("if"), "{e}");
    }

    #[test]
    fn grammars_without_any_output_are_refused() {
        let refused = [
            json!({"$ref": "#"}),
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
            json!({"anyOf": [{"$ref": "#"}]}),
        ];
        for schema in refused {
            let e = check(&Constraint::JsonSchema(schema.clone())).unwrap_err();
            assert!(e.contains("no output"), "{schema}: {e:?}");
        }
        // Recursion with a way out is fine.
        assert!(
            check(&Constraint::JsonSchema(json!({"type": "object", "properties": {"next": {"$ref": "#"}}}))).is_ok()
        );
    }

    #[test]
    fn oversized_schemas_are_refused_before_compiling() {
        let deep = (0..100).fold(json!({}), |inner, _| json!({"items": inner}));
        let e = check(&Constraint::JsonSchema(deep)).unwrap_err();
        assert!(e.contains("nesting depth"), "{e}");
    }

    #[test]
    fn literals_escape_quotes_and_newlines() {
        assert_eq!(lark_literal("a\"b\n"), r#""a\"b\n""#);
    }
}
