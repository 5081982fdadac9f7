//! Schemas that used to take the server down (issue 15): a schema with thousands of
//! properties overflowed the stack of the tokio worker that compiled it (the whole process
//! aborted), and deep nesting. Every one is now a 400 naming the field, before any model
//! runs, and the server answers the next request. (Schemas on the real engine's grammar
//! compiler: http/hardening_schema.rs.)

use serde_json::json;

use crate::harness::TestServer;
use crate::shared::schemas::{assert_alive, expect_400_naming, placements, properties, send};

#[tokio::test]
async fn schemas_with_thousands_of_properties_are_400s_naming_the_field() {
    let s = TestServer::scripted().await;
    for n in [7_000, 20_000] {
        let schema = json!({"type": "OBJECT", "properties": properties(n, "STRING")});
        let json_schema = json!({"type": "object", "properties": properties(n, "string")});
        for (path, body, field) in placements(&schema, &json_schema) {
            let message = expect_400_naming(&s, path, &body, field).await;
            assert!(message.contains(field) && message.contains("properties"), "{message}");
        }
        assert_alive(&s).await;
    }
}

#[tokio::test]
async fn deeply_nested_schemas_are_400s() {
    let s = TestServer::scripted().await;
    // Objects (function parameters must be), holding arrays of arrays.
    let nest = |levels: usize, gemini: bool| {
        let arrays = (0..levels).fold(json!({"type": if gemini { "STRING" } else { "string" }}), |inner, _| {
            if gemini {
                json!({"type": "ARRAY", "items": inner})
            } else {
                json!({"type": "array", "items": inner})
            }
        });
        json!({"type": if gemini { "OBJECT" } else { "object" }, "properties": {"deep": arrays}})
    };
    // Within what the request parser accepts (128 levels of JSON in all): refused by gemd's
    // depth limit, naming the field.
    for (path, body, field) in placements(&nest(100, true), &nest(100, false)) {
        let message = expect_400_naming(&s, path, &body, field).await;
        assert!(message.contains("nesting depth"), "{message}");
    }
    // Deeper than the request parser accepts: a 400 as well.
    for (path, body, _) in placements(&nest(200, true), &nest(200, false)).into_iter().take(2) {
        let (status, e) = send(&s, path, &body).await;
        assert_eq!((status, e["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{e}");
    }
    assert_alive(&s).await;
}
