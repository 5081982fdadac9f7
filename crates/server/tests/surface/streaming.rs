//! streamGenerateContent on scripted engines: SSE framing byte by byte, and errors before and
//! after the first chunk. (Streams of the real model against its whole answer:
//! http/streaming.rs.)

use std::sync::Arc;

use gemd_engine::{EngineError, Event};
use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer};
use crate::shared::native::sse_events;

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
    let s = TestServer::scripted().await;
    let resp = s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", r#"{"contents":[]}"#).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn scripted_stream_framing_is_byte_exact() {
    let s = TestServer::with_engine(Arc::new(ScriptedEngine::text_then_done(&["Hi"]))).await;
    let sse = s
        .post(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            r#"{"contents":[{"parts":[{"text":"x"}]}]}"#,
        )
        .await
        .text()
        .await
        .unwrap();
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
