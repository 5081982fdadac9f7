//! Replays every captured client request (tests/fixtures/wire, copied from real SDK traffic)
//! against gemd, byte for byte as the client sent it, and checks the answer the client needs.
//! Calls whose feature has not landed yet (or that ask more than the local models have) must
//! get a clear error, never a 200 with nothing.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{wire_engine, TestServer, KEY, TEST_OUTPUT_LIMIT};

#[derive(Debug, PartialEq)]
enum Expect {
    /// 200 with the body the client parses.
    Ok,
    /// The capture used a wrong key on purpose.
    InvalidKey,
    /// A feature later issues deliver (images, search): 400 naming what is unsupported.
    Unsupported,
    /// An embedding request for more dimensions than the served embedder makes (the capture
    /// asks 768 of all-MiniLM-L6-v2's 384): 400 naming the field.
    TooManyDimensions,
}

fn expectation(file: &str, body: &Value) -> Expect {
    let requests = body["requests"].as_array().cloned().unwrap_or_else(|| vec![body.clone()]);
    if requests.iter().any(|r| r["outputDimensionality"].as_u64().is_some_and(|n| n > 384)) {
        Expect::TooManyDimensions
    } else if file.contains("invalid-key") {
        Expect::InvalidKey
    } else if ["image-", "google-search", "chat-image"].iter().any(|f| file.contains(f)) {
        Expect::Unsupported
    } else {
        Expect::Ok
    }
}

/// Enough for every capture's `maxOutputTokens` / `max_tokens` (256 at most).
const ROOMY_OUTPUT_LIMIT: u32 = 256;

/// The output cap a captured body asks for (0: none).
fn asked_output(body: &Value) -> u64 {
    let cfg = &body["generationConfig"];
    [&cfg["maxOutputTokens"], &cfg["max_output_tokens"], &body["max_tokens"], &body["max_completion_tokens"]]
        .iter()
        .filter_map(|v| v.as_u64())
        .max()
        .unwrap_or(0)
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wire");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_captured_http_call_gets_what_its_client_needs() {
    // The point is the wire: the smallest real model answers (SmolLM2, ChatML, tools as text).
    let s = TestServer::wire().await;
    // A capture asking a longer answer than the quick catalog allows (a cap above the model's
    // limit is a 400) goes to a server whose catalog allows it.
    let roomy = TestServer::with_engine_and_output_limit(wire_engine(), ROOMY_OUTPUT_LIMIT).await;
    let mut replayed = 0;
    let mut ok = 0;
    for (file, capture) in fixtures() {
        let requests = capture["requests"].as_array().cloned().unwrap_or_default();
        for (i, r) in requests.iter().enumerate() {
            // The gRPC capture lists stub methods, not HTTP requests: gemd serves REST only.
            let Some(method) = r["method"].as_str() else { continue };
            let path = r["path"].as_str().unwrap();
            let expect = expectation(&file, &r["body"]);
            let s = if asked_output(&r["body"]) > u64::from(TEST_OUTPUT_LIMIT) { &roomy } else { &s };
            let key = if expect == Expect::InvalidKey { "AIzaSyNotAValidKeyForThisServer0000000" } else { KEY };
            let query = r["raw_query"].as_str().unwrap_or("").replace("%3CKEY%3E", key).replace("<KEY>", key);
            let url = if query.is_empty() { format!("{}{path}", s.base) } else { format!("{}{path}?{query}", s.base) };
            let mut req = s.http.request(method.parse().unwrap(), url);
            for (name, value) in r["headers"].as_object().unwrap() {
                if name.eq_ignore_ascii_case("accept-encoding") {
                    continue; // gemd does not compress; reqwest here does not decompress
                }
                req = req.header(name.as_str(), value.as_str().unwrap().replace("<KEY>", key));
            }
            if !r["body"].is_null() {
                req = req.body(serde_json::to_vec(&r["body"]).unwrap());
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let text = resp.text().await.unwrap();
            let what = format!("{file} request {i} ({method} {path}): {status} {text}");
            replayed += 1;
            match expect {
                Expect::Ok => {
                    assert_eq!(status, 200, "{what}");
                    if path.contains("/openai/") {
                        check_openai_body(path, &r["body"], &ctype, &text, &what);
                    } else {
                        check_ok_body(path, &r["body"], &query, &ctype, &text, &what);
                    }
                    ok += 1;
                }
                Expect::InvalidKey => {
                    assert_eq!(status, 400, "{what}");
                    let v = error_of(path, &text, &what);
                    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID", "{what}");
                }
                Expect::Unsupported => {
                    assert_eq!(status, 400, "{what}");
                    let v = error_of(path, &text, &what);
                    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{what}");
                    let msg = v["error"]["message"].as_str().unwrap();
                    assert!(msg.contains("not supported") || msg.contains("text-only"), "{what}");
                }
                Expect::TooManyDimensions => {
                    assert_eq!(status, 400, "{what}");
                    let v = error_of(path, &text, &what);
                    let field = v["error"]["details"][0]["fieldViolations"][0]["field"].as_str().unwrap();
                    assert!(field.ends_with("output_dimensionality"), "{what}");
                }
            }
        }
    }
    assert!(replayed >= 60, "only {replayed} captured requests found");
    assert!(ok >= 40, "only {ok} captured requests answered 200");
}

/// The `{"error": …}` object of an error body: as is on the native surface, the one element
/// of the array the OpenAI layer answers with.
fn error_of(path: &str, text: &str, what: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap();
    if !path.contains("/openai/") {
        return v;
    }
    let list = v.as_array().unwrap_or_else(|| panic!("the OpenAI layer's errors are arrays: {what}"));
    assert_eq!(list.len(), 1, "{what}");
    list[0].clone()
}

fn check_openai_body(path: &str, request: &Value, ctype: &str, text: &str, what: &str) {
    if path.ends_with("/chat/completions") && request["stream"] == true {
        assert_eq!(ctype, "text/event-stream", "{what}");
        assert!(text.ends_with("data: [DONE]\n\n"), "{what}");
        let events: Vec<Value> = text
            .split_terminator("\n\n")
            .filter(|e| *e != "data: [DONE]")
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect();
        assert!(events.iter().all(|e| e["object"] == "chat.completion.chunk"), "{what}");
        assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant", "{what}");
        assert!(events.iter().any(|e| e["choices"][0]["finish_reason"].is_string()), "{what}");
        let wants_usage = request["stream_options"]["include_usage"] == true;
        assert_eq!(
            events.last().unwrap()["usage"]["total_tokens"].as_u64().is_some_and(|n| n > 0),
            wants_usage,
            "{what}"
        );
    } else if path.ends_with("/chat/completions") {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["object"], "chat.completion", "{what}");
        let message = &v["choices"][0]["message"];
        assert!(
            message["content"].is_string() || message["tool_calls"][0]["function"]["arguments"].is_string(),
            "{what}"
        );
        if let Some(args) = message["tool_calls"][0]["function"]["arguments"].as_str() {
            assert!(serde_json::from_str::<Value>(args).is_ok_and(|a| a.is_object()), "{what}");
        }
        if request["response_format"]["type"] == "json_schema" && v["choices"][0]["finish_reason"] == "stop" {
            assert!(serde_json::from_str::<Value>(message["content"].as_str().unwrap()).is_ok(), "{what}");
        }
        assert!(v["choices"][0]["finish_reason"].is_string(), "{what}");
        assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 0, "{what}");
    } else if path.ends_with("/openai/embeddings") {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["object"], "list", "{what}");
        let inputs = request["input"].as_array().map_or(1, Vec::len);
        assert_eq!(v["data"].as_array().unwrap().len(), inputs, "{what}");
        // The SDKs decode a base64 string as little-endian float32; floats pass unchanged.
        let first = &v["data"][0]["embedding"];
        assert!(
            if request["encoding_format"] == "base64" {
                first.as_str().is_some_and(|s| s.len() == 2048)
            } else {
                first.as_array().is_some_and(|a| a.len() == 384)
            },
            "{what}"
        );
    } else if path.ends_with("/openai/models") {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["object"], "list", "{what}");
        assert!(!v["data"].as_array().unwrap().is_empty(), "{what}");
    } else {
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["object"], "model", "{what}");
        assert!(v["id"].as_str().unwrap().starts_with("models/"), "{what}");
    }
}

fn check_ok_body(path: &str, request: &Value, query: &str, ctype: &str, text: &str, what: &str) {
    let method = path.rsplit_once(':').map(|(_, m)| m).unwrap_or("");
    match method {
        "embedContent" => {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(v["embedding"]["values"].as_array().unwrap().len(), 384, "{what}");
        }
        "batchEmbedContents" => {
            let v: Value = serde_json::from_str(text).unwrap();
            let embeddings = v["embeddings"].as_array().unwrap();
            assert_eq!(embeddings.len(), request["requests"].as_array().unwrap().len(), "{what}");
            assert!(embeddings.iter().all(|e| e["values"].as_array().unwrap().len() == 384), "{what}");
        }
        "generateContent" => {
            let v: Value = serde_json::from_str(text).unwrap();
            let part = &v["candidates"][0]["content"]["parts"][0];
            assert!(part["text"].is_string() || part["functionCall"]["args"].is_object(), "{what}");
            // A JSON answer that finished (not cut by the test catalog's small output cap) parses.
            let config = if request["generationConfig"].is_object() {
                &request["generationConfig"]
            } else {
                &request["generation_config"]
            };
            if config.to_string().contains("application/json") && v["candidates"][0]["finishReason"] == "STOP" {
                assert!(serde_json::from_str::<Value>(part["text"].as_str().unwrap()).is_ok(), "{what}");
            }
            assert!(v["candidates"][0]["finishReason"].is_string(), "{what}");
            assert!(v["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0, "{what}");
        }
        "streamGenerateContent" if query.contains("alt=sse") => {
            assert_eq!(ctype, "text/event-stream", "{what}");
            let events: Vec<Value> = text
                .split_terminator("\r\n\r\n")
                .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
                .collect();
            assert!(events.last().unwrap()["candidates"][0]["finishReason"].is_string(), "{what}");
        }
        "streamGenerateContent" => {
            let v: Vec<Value> = serde_json::from_str(text).unwrap();
            assert!(v.last().unwrap()["candidates"][0]["finishReason"].is_string(), "{what}");
        }
        "countTokens" => {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(v["totalTokens"].as_u64().unwrap() > 0, "{what}");
        }
        _ if path.ends_with("/models") => {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(!v["models"].as_array().unwrap().is_empty(), "{what}");
        }
        _ => {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(v["name"].as_str().unwrap().starts_with("models/"), "{what}");
        }
    }
}
