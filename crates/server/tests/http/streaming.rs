//! streamGenerateContent on the real model: the SSE stream is the whole answer in chunks, and
//! the JSON-array form is one incrementally written array. (Framing byte by byte and errors
//! mid-stream, on scripted engines: tests/surface/streaming.rs.)

use serde_json::Value;

use crate::harness::TestServer;
use crate::shared::native::sse_events;

const BODY: &str = r#"{"contents":[{"parts":[{"text":"Write a haiku about the sea."}]}],"generationConfig":{"temperature":0,"maxOutputTokens":24}}"#;

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
    assert_eq!(
        u["promptTokenCount"].as_u64().unwrap() + u["candidatesTokenCount"].as_u64().unwrap(),
        u["totalTokenCount"].as_u64().unwrap()
    );
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
    let resp =
        s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?%24alt=json%3Benum-encoding%3Dint", BODY).await;
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
