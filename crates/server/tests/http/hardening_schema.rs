//! Schemas on the real engine's grammar compiler (issue 15), on the real model (SmolLM2:
//! quality of the answers does not matter here): the largest schema gemd admits still
//! answers, constrained to it, and one property more is a 400; a schema that admits no
//! document (`{"$ref": "#"}`, a `$ref` cycle) used to answer 200 with free text and is now a
//! 400, whole and streamed. (Schemas refused before any model runs:
//! tests/surface/hardening_schema.rs.)

use serde_json::{json, Map, Value};

use crate::harness::TestServer;
use crate::shared::schemas::{assert_alive, expect_400_naming, properties, send};
use crate::shared::schemas::{CHAT, GENERATE, STREAM};

use gemd_engine::schema_limits::{MAX_OBJECT_PROPERTIES, MAX_PROPERTIES};

/// An object whose properties are `objects` objects of `each` string properties.
fn objects_of(objects: usize, each: usize) -> Value {
    let inner: Map<String, Value> = (0..objects)
        .map(|i| (format!("o{i}"), json!({"type": "object", "properties": properties(each, "string")})))
        .collect();
    json!({"type": "object", "properties": inner})
}

#[tokio::test]
async fn the_largest_admitted_schema_answers() {
    let s = TestServer::wire().await;
    // 5 + 5 × 399 = 2,000 properties, each object within its own limit.
    let objects = MAX_PROPERTIES / MAX_OBJECT_PROPERTIES;
    let schema = objects_of(objects, MAX_PROPERTIES / objects - 1);
    let body = json!({"contents": [{"parts": [{"text": "Fill in the form as JSON."}]}],
                      "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema, "maxOutputTokens": 8}});
    let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    let text = v["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with('{'), "constrained to the schema: {text:?}");
    // One property more is refused, in all or in one object.
    let over_all = objects_of(objects, MAX_PROPERTIES / objects);
    let over_one = json!({"type": "object", "properties": properties(MAX_OBJECT_PROPERTIES + 1, "string")});
    for over in [over_all, over_one] {
        let body = json!({"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": over}});
        expect_400_naming(&s, GENERATE, &body, "generation_config.response_json_schema").await;
    }
}

#[tokio::test]
async fn schemas_that_admit_no_document_are_400s_whole_and_streamed() {
    let s = TestServer::wire().await;
    let cycles = [
        json!({"$ref": "#"}),
        json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
    ];
    for schema in cycles {
        let native = json!({"contents": [{"parts": [{"text": "Answer in JSON."}]}], "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema}});
        let openai = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "JSON"}], "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}});
        let openai_stream = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "JSON"}], "stream": true, "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}});
        for (path, body) in [(GENERATE, &native), (STREAM, &native), (CHAT, &openai), (CHAT, &openai_stream)] {
            let (status, e) = send(&s, path, body).await;
            assert_eq!((status, e["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{path} {schema}: {e}");
            assert!(e["message"].as_str().unwrap_or_default().contains("admits no output"), "{e}");
        }
    }
    assert_alive(&s).await;
}
