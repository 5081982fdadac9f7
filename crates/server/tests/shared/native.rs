//! The native surface's wire: a one-text request body, and readers of what it answers (its
//! 400 envelope and the field it names, its SSE stream checked event by event).

use serde_json::{json, Value};

use super::server::TestServer;

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

/// A generate (or countTokens) body of one user text.
pub fn text_body(text: &str) -> String {
    json!({"contents": [{"parts": [{"text": text}]}]}).to_string()
}

/// The field a 400's `google.rpc.BadRequest` detail names first, if any.
pub fn violation_field(body: &Value) -> Option<&str> {
    let details = body["error"]["details"].as_array()?;
    let bad_request = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")?;
    bad_request["fieldViolations"][0]["field"].as_str()
}

/// The answer to generateContent of `body`, checked to be a 400 INVALID_ARGUMENT envelope.
pub async fn expect_400(server: &TestServer, body: &str) -> Value {
    let (status, v) = server.post_json(GEN, body).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    v
}

/// Splits an SSE body into its events, checking the framing of each.
pub fn sse_events(body: &str) -> Vec<Value> {
    assert!(body.ends_with("\r\n\r\n"), "every event ends with a blank line: {body:?}");
    assert!(!body.contains("[DONE]"));
    body.split_terminator("\r\n\r\n")
        .map(|event| {
            let json = event.strip_prefix("data: ").unwrap_or_else(|| panic!("event without `data: `: {event:?}"));
            assert!(!json.contains('\n'), "one line per event");
            serde_json::from_str(json).unwrap()
        })
        .collect()
}
