//! streamGenerateContent: SSE and JSON-array framing, byte by byte, and errors mid-stream.

use std::sync::Arc;

use gemd_engine::{EngineError, Event};
use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer};

const BODY: &str = r#"{"contents":[{"parts":[{"text":"Write a haiku about the sea."}]}],"generationConfig":{"temperature":0,"maxOutputTokens":24}}"#;

/// Splits an SSE body into its events, checking the framing of each.
fn sse_events(body: &str) -> Vec<Value> {
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

fn chunk_text(chunks: &[Value]) -> String {
    chunks.iter().map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap_or("")).collect()
}

fn check_chunks(chunks: &[Value]) {
    assert!(!chunks.is_empty());
    let id = &chunks[0]["responseId"];
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(&c["responseId"], id, "one responseId per stream");
        assert_eq!(c["modelVersion"], "gemini-2.5-flash");
        assert!(c["candidates"][0]["content"]["parts"][0]["text"].is_string(), "every chunk carries a text part");
        let last = i + 1 == chunks.len();
        assert_eq!(c["candidates"][0].get("finishReason").is_some(), last, "finishReason only on the last chunk");
        let u = &c["usageMetadata"];
        assert!(u["promptTokenCount"].as_u64().unwrap() > 0);
    }
    let u = &chunks.last().unwrap()["usageMetadata"];
    assert_eq!(u["promptTokenCount"].as_u64().unwrap() + u["candidatesTokenCount"].as_u64().unwrap(), u["totalTokenCount"].as_u64().unwrap());
}

#[tokio::test]
async fn sse_stream_matches_the_non_streamed_answer() {
    let s = TestServer::real_exclusive().await;
    let resp = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", BODY).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let chunks = sse_events(&resp.text().await.unwrap());
    check_chunks(&chunks);
    let (_, whole) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", BODY).await;
    assert_eq!(chunk_text(&chunks), whole["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap());
    assert_eq!(chunks.last().unwrap()["usageMetadata"], whole["usageMetadata"]);
}

#[tokio::test]
async fn json_array_stream_is_one_incrementally_written_array() {
    let s = TestServer::real().await;
    // google-generativeai's REST transport: no alt=sse, GAPIC `$alt`.
    let resp = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?%24alt=json%3Benum-encoding%3Dint", BODY).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json; charset=UTF-8");
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("[{\n  \"candidates\""), "{body:?}");
    assert!(body.ends_with("\n]"));
    let chunks: Vec<Value> = serde_json::from_str(&body).unwrap();
    if chunks.len() > 1 {
        assert!(body.contains("}\n,\r\n{"), "elements separated by a line holding only a comma");
    }
    check_chunks(&chunks);
}

#[tokio::test]
async fn errors_after_the_first_chunk_end_the_stream_with_an_error_event() {
    let script = vec![
        Event::Text { text: "Hello".into(), output_tokens: 1 },
        Event::Failed(EngineError::Internal("boom".into())),
    ];
    let s = TestServer::with_engine(Arc::new(ScriptedEngine::new(script))).await;
    let body = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;

    let sse = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body).await.text().await.unwrap();
    let events = sse_events(&sse);
    assert_eq!(events.len(), 2, "{sse}");
    assert_eq!(events[0]["candidates"][0]["content"]["parts"][0]["text"], "Hello");
    assert_eq!(events[1]["error"]["code"], 500);
    assert_eq!(events[1]["error"]["status"], "INTERNAL");

    let arr = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", body).await.text().await.unwrap();
    let items: Vec<Value> = serde_json::from_str(&arr).unwrap_or_else(|e| panic!("{e}: {arr:?}"));
    assert_eq!(items[1]["error"]["status"], "INTERNAL");
}

#[tokio::test]
async fn errors_before_the_first_chunk_are_plain_http_errors() {
    let s = TestServer::real().await;
    let resp = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", r#"{"contents":[]}"#).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn scripted_stream_framing_is_byte_exact() {
    let s = TestServer::with_engine(Arc::new(ScriptedEngine::text_then_done(&["Hi"]))).await;
    let sse = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", r#"{"contents":[{"parts":[{"text":"x"}]}]}"#).await.text().await.unwrap();
    let events = sse_events(&sse);
    let id = events[0]["responseId"].as_str().unwrap();
    // The scripted engine sends "Hi" and the end 5 ms apart: two events, the last one with an
    // empty text part (clients read `.text` on every chunk) and the finish reason.
    // The scripted engine counts one prompt token per word ("x").
    let usage = json!({"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2});
    let expected = format!(
        "data: {}\r\n\r\ndata: {}\r\n\r\n",
        json!({"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"index":0}],
               "usageMetadata": usage,"modelVersion":"gemini-2.5-flash","responseId": id}),
        json!({"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],
               "usageMetadata": usage,"modelVersion":"gemini-2.5-flash","responseId": id})
    );
    assert_eq!(sse, expected);
}
