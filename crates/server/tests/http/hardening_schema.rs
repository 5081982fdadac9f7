//! Schemas that used to take the server down or lose the JSON guarantee (issue 15): a schema
//! with thousands of properties overflowed the stack of the tokio worker that compiled it
//! (the whole process aborted), and a schema that admits no document (`{"$ref": "#"}`, a `$ref`
//! cycle) answered 200 with free text. Every one is now a 400 naming the field, and the
//! server answers the next request. Quality of the answers does not matter here: SmolLM2.

use serde_json::{json, Map, Value};

use crate::harness::TestServer;

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const CHAT: &str = "/v1beta/openai/chat/completions";

use gemd_engine::schema_limits::{MAX_OBJECT_PROPERTIES, MAX_PROPERTIES};

fn properties(n: usize, kind: &str) -> Map<String, Value> {
    (0..n).map(|i| (format!("p{i}"), json!({"type": kind}))).collect()
}

/// An object whose properties are `objects` objects of `each` string properties.
fn objects_of(objects: usize, each: usize) -> Value {
    let inner: Map<String, Value> = (0..objects).map(|i| (format!("o{i}"), json!({"type": "object", "properties": properties(each, "string")}))).collect();
    json!({"type": "object", "properties": inner})
}

/// `(path, body, the field a refusal names)` for `schema` (a Gemini Schema) and `json_schema`
/// in each place a schema becomes a grammar.
fn placements(schema: &Value, json_schema: &Value) -> Vec<(&'static str, Value, &'static str)> {
    let contents = json!([{"role": "user", "parts": [{"text": "Answer in JSON."}]}]);
    let messages = json!([{"role": "user", "content": "Answer in JSON."}]);
    vec![
        (GENERATE, json!({"contents": contents, "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema}}), "generation_config.response_schema"),
        (GENERATE, json!({"contents": contents, "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": json_schema}}), "generation_config.response_json_schema"),
        (CHAT, json!({"model": "gemini-2.5-flash", "messages": messages, "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": json_schema}}}), "response_format.json_schema.schema"),
        (GENERATE, json!({"contents": contents, "tools": [{"functionDeclarations": [{"name": "f", "parameters": schema}]}]}), "tools[0].function_declarations[0].parameters"),
        (GENERATE, json!({"contents": contents, "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": json_schema}]}]}), "tools[0].function_declarations[0].parameters_json_schema"),
        (CHAT, json!({"model": "gemini-2.5-flash", "messages": messages, "tools": [{"type": "function", "function": {"name": "f", "parameters": json_schema}}]}), "tools[0].function.parameters"),
    ]
}

/// POSTs `body` to `path` (the OpenAI layer with a bearer key) and returns the status and
/// the `google.rpc.Status` (unwrapped from the layer's array).
async fn send(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let resp = if path.starts_with("/v1beta/openai") {
        s.http.post(format!("{}{path}", s.base)).bearer_auth(crate::harness::KEY).json(body).send().await.expect("sent")
    } else {
        s.post(path, &body.to_string()).await
    };
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("a body");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text:.300}"));
    let error = if v.is_array() { v[0]["error"].clone() } else { v["error"].clone() };
    (status, error)
}

async fn expect_400_naming(s: &TestServer, path: &str, body: &Value, field: &str) -> String {
    let (status, e) = send(s, path, body).await;
    assert_eq!((status, e["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{field}: {e}");
    assert_eq!(e["details"][0]["fieldViolations"][0]["field"], field, "{e}");
    e["message"].as_str().unwrap_or_default().to_string()
}

/// The server still answers a plain request.
async fn assert_alive(s: &TestServer) {
    let (status, v) = s.post_json(GENERATE, r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":2}}"#).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn schemas_with_thousands_of_properties_are_400s_naming_the_field() {
    let s = TestServer::wire().await;
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
    let cycles = [json!({"$ref": "#"}), json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})];
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

#[tokio::test]
async fn deeply_nested_schemas_are_400s() {
    let s = TestServer::wire().await;
    // Objects (function parameters must be), holding arrays of arrays.
    let nest = |levels: usize, gemini: bool| {
        let arrays = (0..levels).fold(json!({"type": if gemini { "STRING" } else { "string" }}), |inner, _| {
            if gemini { json!({"type": "ARRAY", "items": inner}) } else { json!({"type": "array", "items": inner}) }
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
