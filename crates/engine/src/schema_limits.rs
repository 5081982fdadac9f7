//! How large a JSON Schema gemd agrees to turn into a grammar, checked before anything walks
//! the schema recursively. Every later step recurses once per level or per property: the
//! Gemini Schema converter, the number bounds of [`crate::constraint::styled_schema`], and
//! llguidance's JSON compiler, which measured 0.32 KiB of stack per property of one object and
//! 5.7 KiB per level of object nesting, and time quadratic in the properties of one object
//! (2,000: 0.2 s; 4,000: 1.1 s; 8,000: overflowed a 2 MiB stack). So the check itself walks
//! with an explicit stack, and stops as soon as a limit is passed: a 20 MB schema costs one
//! bounded pass, never a recursion.
//!
//! The limits are far above what structured output needs in practice (OpenAI documents 5,000
//! properties and 10 levels of nesting for its structured outputs; Google's service refuses
//! much smaller schemas as having "too many states for serving"):
//!
//! - [`MAX_DEPTH`]: nesting of the schema's JSON, every object and array counted (an object
//!   property is two levels: the `properties` map and the property's schema);
//! - [`MAX_PROPERTIES`]: property names across all `properties` maps of the schema;
//! - [`MAX_OBJECT_PROPERTIES`]: property names of one object. Each is an alternative the
//!   parser keeps open at every key, about 4 Earley items apiece, and llguidance stops a
//!   parse whose row passes 2,000 items (`ParserLimits::max_items_in_row`): a 1,000-property
//!   object compiled, then failed after its `{`. The mask of every step also costs time in
//!   proportion (measured on SmolLM2, loaded machine: 500 properties 0.12 s per token,
//!   2,000 properties 0.7 s, on the engine thread every stream shares);
//! - [`MAX_NODES`]: JSON values of the schema in all (objects, arrays and scalars, enum
//!   values included).

use serde_json::Value;

pub const MAX_DEPTH: usize = 64;
pub const MAX_PROPERTIES: usize = 2_000;
pub const MAX_OBJECT_PROPERTIES: usize = 400;
pub const MAX_NODES: usize = 20_000;

/// The limit a schema passed (the first found).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaTooLarge {
    #[error("exceeds the maximum allowed nesting depth ({MAX_DEPTH} levels of objects and arrays)")]
    Depth,
    #[error("has more than {MAX_PROPERTIES} properties in all")]
    Properties,
    #[error("has an object with more than {MAX_OBJECT_PROPERTIES} properties")]
    ObjectProperties,
    #[error("has more than {MAX_NODES} values in all")]
    Nodes,
}

/// Whether `schema` is within the limits. Iterative: safe on any depth serde admitted.
pub fn check(schema: &Value) -> Result<(), SchemaTooLarge> {
    let (mut nodes, mut properties) = (0usize, 0usize);
    // (value, its depth, whether it is a `properties` map)
    let mut pending: Vec<(&Value, usize, bool)> = vec![(schema, 1, false)];
    while let Some((value, depth, is_properties)) = pending.pop() {
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(SchemaTooLarge::Nodes);
        }
        let children: Box<dyn Iterator<Item = (&Value, bool)>> = match value {
            Value::Object(map) => {
                if is_properties {
                    if map.len() > MAX_OBJECT_PROPERTIES {
                        return Err(SchemaTooLarge::ObjectProperties);
                    }
                    properties += map.len();
                    if properties > MAX_PROPERTIES {
                        return Err(SchemaTooLarge::Properties);
                    }
                }
                // A schema named `properties` inside a `properties` map is a property, not a map.
                Box::new(map.iter().map(move |(k, v)| (v, !is_properties && k == "properties")))
            }
            Value::Array(items) => Box::new(items.iter().map(|v| (v, false))),
            _ => continue,
        };
        if depth > MAX_DEPTH {
            return Err(SchemaTooLarge::Depth);
        }
        pending.extend(children.map(|(v, p)| (v, depth + 1, p)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!({"type": "string"}), |inner, _| json!({"type": "array", "items": inner}))
    }

    fn object_with(properties: usize) -> Value {
        let props: Map<String, Value> = (0..properties).map(|i| (format!("p{i}"), json!({}))).collect();
        json!({"type": "object", "properties": props})
    }

    /// `objects` objects of `each` properties, as the properties of one more.
    fn objects_of(objects: usize, each: usize) -> Value {
        let props: Map<String, Value> = (0..objects).map(|i| (format!("o{i}"), object_with(each))).collect();
        json!({"type": "object", "properties": props})
    }

    #[test]
    fn depth_counts_objects_and_arrays() {
        assert_eq!(check(&nested(MAX_DEPTH - 1)), Ok(()));
        assert_eq!(check(&nested(MAX_DEPTH)), Err(SchemaTooLarge::Depth));
        // Scalars below the last level do not add one.
        assert_eq!(check(&json!([[1]])), Ok(()));
    }

    #[test]
    fn properties_are_counted_across_maps_but_not_twice() {
        // 5 + 5 × 399 = 2,000.
        assert_eq!(check(&objects_of(5, MAX_OBJECT_PROPERTIES - 1)), Ok(()));
        assert_eq!(check(&objects_of(5, MAX_OBJECT_PROPERTIES)), Err(SchemaTooLarge::Properties));
        assert_eq!(check(&object_with(MAX_OBJECT_PROPERTIES)), Ok(()));
        assert_eq!(check(&object_with(MAX_OBJECT_PROPERTIES + 1)), Err(SchemaTooLarge::ObjectProperties));
        // A property called `properties` is one property, and its schema is not a map.
        assert_eq!(check(&json!({"properties": {"properties": {"type": "string", "x": 1}}})), Ok(()));
    }

    #[test]
    fn values_are_counted_whatever_they_are() {
        let values: Vec<Value> = (0..MAX_NODES).map(Value::from).collect();
        assert_eq!(check(&json!({"enum": values})), Err(SchemaTooLarge::Nodes));
        assert_eq!(check(&json!({"enum": values[..MAX_NODES - 2]})), Ok(()));
    }
}
