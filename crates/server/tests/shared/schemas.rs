//! Requests that carry a schema in each place one becomes a grammar (a response schema, a
//! function's parameters, on the native surface and the OpenAI layer), and the reader of
//! their refusals: the 400 naming the field.

use serde_json::{json, Map, Value};

use super::server::{TestServer, KEY};

pub const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
pub const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
pub const CHAT: &str = "/v1beta/openai/chat/completions";

/// `n` properties `p0`, `p1`, … of type `kind`.
pub fn properties(n: usize, kind: &str) -> Map<String, Value> {
    (0..n).map(|i| (format!("p{i}"), json!({"type": kind}))).collect()
}

/// `(path, body, the field a refusal names)` for `schema` (a Gemini Schema) and `json_schema`
/// in each place a schema becomes a grammar.
pub fn placements(schema: &Value, json_schema: &Value) -> Vec<(&'static str, Value, &'static str)> {
    let contents = json!([{"role": "user", "parts": [{"text": "Answer in JSON."}]}]);
    let messages = json!([{"role": "user", "content": "Answer in JSON."}]);
    let response_schema = json!({"responseMimeType": "application/json", "responseSchema": schema});
    let response_json_schema = json!({"responseMimeType": "application/json", "responseJsonSchema": json_schema});
    let response_format = json!({"type": "json_schema", "json_schema": {"name": "r", "schema": json_schema}});
    let declaration = json!({"name": "f", "parameters": schema});
    let json_declaration = json!({"name": "f", "parametersJsonSchema": json_schema});
    let function = json!({"name": "f", "parameters": json_schema});
    vec![
        (
            GENERATE,
            json!({"contents": contents, "generationConfig": response_schema}),
            "generation_config.response_schema",
        ),
        (
            GENERATE,
            json!({"contents": contents, "generationConfig": response_json_schema}),
            "generation_config.response_json_schema",
        ),
        (
            CHAT,
            json!({"model": "gemini-2.5-flash", "messages": messages,
                   "response_format": response_format}),
            "response_format.json_schema.schema",
        ),
        (
            GENERATE,
            json!({"contents": contents, "tools": [{"functionDeclarations": [declaration]}]}),
            "tools[0].function_declarations[0].parameters",
        ),
        (
            GENERATE,
            json!({"contents": contents, "tools": [{"functionDeclarations": [json_declaration]}]}),
            "tools[0].function_declarations[0].parameters_json_schema",
        ),
        (
            CHAT,
            json!({"model": "gemini-2.5-flash", "messages": messages,
                   "tools": [{"type": "function", "function": function}]}),
            "tools[0].function.parameters",
        ),
    ]
}

/// POSTs `body` to `path` (the OpenAI layer with a bearer key) and returns the status and
/// the `google.rpc.Status` (unwrapped from the layer's array).
pub async fn send(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let resp = if path.starts_with("/v1beta/openai") {
        let url = format!("{}{path}", s.base);
        s.http.post(url).bearer_auth(KEY).json(body).send().await.expect("sent")
    } else {
        s.post(path, &body.to_string()).await
    };
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("a body");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text:.300}"));
    let error = if v.is_array() { v[0]["error"].clone() } else { v["error"].clone() };
    (status, error)
}

/// The message of the 400 INVALID_ARGUMENT `body` gets, checked to name `field`.
pub async fn expect_400_naming(s: &TestServer, path: &str, body: &Value, field: &str) -> String {
    let (status, e) = send(s, path, body).await;
    let code = (status, e["status"].as_str());
    assert_eq!(code, (400, Some("INVALID_ARGUMENT")), "{field}: {e}");
    assert_eq!(e["details"][0]["fieldViolations"][0]["field"], field, "{e}");
    e["message"].as_str().unwrap_or_default().to_string()
}

/// The server still answers a plain request.
pub async fn assert_alive(s: &TestServer) {
    let plain = json!({"contents": [{"parts": [{"text": "hi"}]}],
                       "generationConfig": {"maxOutputTokens": 2}});
    let (status, v) = s.post_json(GENERATE, &plain.to_string()).await;
    assert_eq!(status, 200, "{v}");
}
