//! Property-based tests of the schema path (issue 15): random Gemini Schemas, JSON Schemas
//! and arbitrary JSON through the converters ([`from_gemini`], [`close_objects`]), gemd's
//! styling ([`styled_schema`]) and the grammar compiler ([`check`]). Never a panic, the size
//! limits hold exactly, and every schema the converters admit either compiles or is refused
//! with an error. Case counts are bounded so that a run takes seconds.

use gemd_engine::constraint::{check, styled_schema};
use gemd_engine::schema_limits::{self, MAX_DEPTH, MAX_OBJECT_PROPERTIES};
use gemd_engine::{CallPolicy, Constraint, ToolSpec, ToolSyntax};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{close_objects, from_gemini, SchemaError};
use crate::service::tools::plan::{Answer, Plan};

/// Any JSON, keys often schema keywords (so the converters take their deeper paths).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        "[a-zA-Z0-9 #/$.]{0,8}".prop_map(Value::from),
        prop_oneof![Just("STRING"), Just("OBJECT"), Just("ARRAY"), Just("integer"), Just("#"), Just("#/$defs/a")]
            .prop_map(Value::from),
    ];
    let key = prop_oneof![
        3 => prop_oneof![Just("type"), Just("properties"), Just("items"), Just("anyOf"), Just("enum"), Just("nullable"), Just("required"),
                         Just("propertyOrdering"), Just("minimum"), Just("maxItems"), Just("$ref"), Just("$defs"), Just("additionalProperties"), Just("a")]
            .prop_map(String::from),
        1 => "[a-z]{1,5}",
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::from),
            btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect()))
        ]
    })
}

/// Gemini Schemas, valid or nearly: every field the converter reads, with odd values too.
fn gemini_schema() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("STRING"),
        Just("INTEGER"),
        Just("NUMBER"),
        Just("BOOLEAN"),
        Just("string"),
        Just("TYPE_UNSPECIFIED"),
        Just("NULL")
    ];
    let leaf = (
        kind,
        proptest::option::of(vec("[a-c1-3]{1,3}", 1..4)),
        proptest::option::of(prop_oneof![Just(json!(3)), Just(json!("5")), Just(json!("x"))]),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just("date-time"), Just("email"), Just("enum"), Just("^[a-z]+$"), Just("(")]),
    )
        .prop_map(|(kind, values, bound, nullable, text)| {
            let mut s = json!({"type": kind, "nullable": nullable});
            if let Some(values) = values {
                s["enum"] = json!(values);
            }
            if let Some(bound) = bound {
                s[if kind == "STRING" { "maxLength" } else { "maximum" }] = bound;
            }
            if let Some(text) = text {
                s[if text.starts_with(['^', '(']) { "pattern" } else { "format" }] = json!(text);
            }
            s
        });
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            (inner.clone(), proptest::option::of(0..4u32))
                .prop_map(|(items, max)| json!({"type": "ARRAY", "items": items, "maxItems": max})),
            (btree_map("[a-e]{1,2}", inner.clone(), 0..5), any::<bool>()).prop_map(|(props, ordered)| {
                let names: Vec<&String> = props.keys().collect();
                let mut s = json!({"type": "OBJECT", "required": names.iter().take(2).collect::<Vec<_>>()});
                if ordered {
                    s["propertyOrdering"] = json!(names.iter().rev().collect::<Vec<_>>());
                }
                s["properties"] = Value::Object(props.into_iter().collect());
                s
            }),
            vec(inner, 1..4).prop_map(|any| json!({"anyOf": any})),
        ]
    })
}

/// JSON Schemas with references, cycles included.
fn json_schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!({"type": "string", "maxLength": 5})),
        Just(json!({"type": "integer"})),
        Just(json!({"type": ["number", "null"]})),
        Just(json!({"enum": ["a", 1, null]})),
        Just(json!({"const": "x"})),
        Just(json!({"$ref": "#"})),
        Just(json!({"$ref": "#/$defs/a"})),
        Just(json!(true)),
        Just(json!(false)),
        Just(json!({"type": "string", "format": "uuid"})),
        Just(json!({"not": {}})),
    ];
    let tree = leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            (btree_map("[a-e]{1,2}", inner.clone(), 0..5), proptest::option::of(any::<bool>()))
                .prop_map(|(props, extra)| json!({"type": "object", "properties": Value::Object(props.into_iter().collect()), "additionalProperties": extra})),
            inner.clone().prop_map(|items| json!({"type": "array", "items": items, "maxItems": 3})),
            vec(inner.clone(), 1..4).prop_map(|any| json!({"anyOf": any})),
            vec(inner, 1..3).prop_map(|all| json!({"allOf": all})),
        ]
    });
    (tree, proptest::option::of(json_schema_leaf_def())).prop_map(|(mut schema, def)| {
        if let (Some(def), Some(s)) = (def, schema.as_object_mut()) {
            s.insert("$defs".into(), json!({"a": def}));
        }
        schema
    })
}

fn json_schema_leaf_def() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "integer"})),
        Just(json!({"$ref": "#/$defs/a"})),
        Just(json!({"type": "object", "properties": {"next": {"$ref": "#/$defs/a"}}}))
    ]
}

/// The field a refusal names.
fn refused_field(e: &SchemaError) -> Option<&str> {
    Some(e.field())
}

/// `schema` compiles, alone and inside a calls-or-answer grammar (as a function's arguments
/// and as the answer), or is refused with an error: never a panic.
fn compiles_or_is_refused(schema: &Value) -> Result<(), TestCaseError> {
    // Styling walks the whole schema (number bounds): it must not panic either.
    let _ = styled_schema(schema);
    let declared = vec![ToolSpec { name: "f".into(), description: String::new(), parameters: schema.clone() }];
    let plan = Plan {
        declared,
        callable: vec!["f".into()],
        calls: Some(CallPolicy::May),
        answer: Answer::Json(schema.clone()),
        ..Plan::default()
    };
    let grammars = [Some(Constraint::JsonSchema(schema.clone())), plan.constraint(ToolSyntax::Hermes)];
    for grammar in grammars.iter().flatten() {
        if let Err(e) = check(grammar) {
            // `check` turns a panic of the compiler thread into this error.
            prop_assert!(!e.contains("panicked"), "{e}: {schema}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_json_is_converted_or_refused_within_the_limits(v in any_json()) {
        let within = schema_limits::check(&v).is_ok();
        for converted in [from_gemini(&v, "p"), close_objects(&v, "p")] {
            match converted {
                Ok(_) => prop_assert!(within, "admitted beyond the limits: {v}"),
                Err(e) => prop_assert_eq!(refused_field(&e).map(|f| f.starts_with('p')), Some(true), "{}", e),
            }
        }
    }
}

proptest! {
    // Each case compiles a few grammars: fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn converted_gemini_schemas_compile_or_are_refused(s in gemini_schema()) {
        if let Ok(converted) = from_gemini(&s, "generation_config.response_schema") {
            compiles_or_is_refused(&converted)?;
        }
    }

    #[test]
    fn closed_json_schemas_compile_or_are_refused(s in json_schema()) {
        if let Ok(closed) = close_objects(&s, "generation_config.response_json_schema") {
            compiles_or_is_refused(&closed)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// The limits are exact: one level or one property more is refused, naming the field.
    #[test]
    fn limits_hold_at_their_edges(levels in 1..(2 * MAX_DEPTH), width in (MAX_OBJECT_PROPERTIES - 3)..(MAX_OBJECT_PROPERTIES + 3)) {
        let deep = (1..levels).fold(json!({"type": "STRING"}), |inner, _| json!({"type": "ARRAY", "items": inner}));
        // `levels` objects nested: the JSON depth is `levels`.
        prop_assert_eq!(from_gemini(&deep, "p").is_ok(), levels <= MAX_DEPTH);
        let props: Map<String, Value> = (0..width).map(|i| (format!("k{i}"), json!({"type": "STRING"}))).collect();
        let wide = json!({"type": "OBJECT", "properties": props});
        match from_gemini(&wide, "tools[0].function_declarations[0].parameters") {
            Ok(_) => prop_assert!(width <= MAX_OBJECT_PROPERTIES),
            Err(e) => {
                prop_assert!(width > MAX_OBJECT_PROPERTIES);
                prop_assert_eq!(refused_field(&e), Some("tools[0].function_declarations[0].parameters"));
            }
        }
    }
}
