//! The refusals of a schema gemd cannot read or compile: one variant per kind, each holding
//! `at`, the request path of the (sub)schema it names, which is also the refusal's field.

use gemd_engine::schema_limits::SchemaTooLarge;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Larger than gemd compiles; `limit` says which bound (its words follow "The schema at").
    #[error("The schema at {at} {limit}.")]
    TooLarge { at: String, limit: SchemaTooLarge },
    /// A Gemini Schema (or one of its subschemas) that is not a JSON object.
    #[error("{at} must be a Schema object.")]
    NotASchema { at: String },
    /// An `enum` value that does not read as a number under a numeric `type` (`kind`, as the
    /// converted schema spells it: `integer`, `number`).
    #[error("enum value {value} is not a number, but the schema's type is {}.", .kind.to_uppercase())]
    EnumNotNumber { value: Value, kind: String, at: String },
    /// A numeric keyword sent as a string (as proto3 JSON sends int64) that is not a number.
    #[error("{at} must be a number, got \"{text}\".")]
    NumberText { text: String, at: String },
    /// A numeric keyword that is neither a number nor a string.
    #[error("{at} must be a number, got {value}.")]
    NotANumber { value: Value, at: String },
}

impl SchemaError {
    /// The refused (sub)schema's request path.
    pub fn field(&self) -> &str {
        use SchemaError::*;
        match self {
            TooLarge { at, .. } | NotASchema { at } | EnumNotNumber { at, .. } => at,
            NumberText { at, .. } | NotANumber { at, .. } => at,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every kind's message and field, as answered before the kinds were typed.
    #[test]
    fn messages_and_fields_are_pinned() {
        let at = || "p.min_items".to_string();
        let cases = [
            (
                SchemaError::TooLarge { at: at(), limit: SchemaTooLarge::Nodes },
                format!("The schema at p.min_items {}.", SchemaTooLarge::Nodes),
            ),
            (SchemaError::NotASchema { at: at() }, "p.min_items must be a Schema object.".into()),
            (
                SchemaError::EnumNotNumber { value: json!("one"), kind: "integer".into(), at: at() },
                "enum value \"one\" is not a number, but the schema's type is INTEGER.".into(),
            ),
            (
                SchemaError::NumberText { text: "x\"y".into(), at: at() },
                "p.min_items must be a number, got \"x\"y\".".into(),
            ),
            (SchemaError::NotANumber { value: json!([1]), at: at() }, "p.min_items must be a number, got [1].".into()),
        ];
        for (e, message) in cases {
            assert_eq!((e.to_string(), e.field()), (message, "p.min_items"), "{e:?}");
        }
    }
}
