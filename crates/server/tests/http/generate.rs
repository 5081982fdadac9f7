//! generateContent and countTokens against the real model: shapes, usage, sampling controls.

use serde_json::{json, Value};

use crate::harness::{TestServer, TEST_OUTPUT_LIMIT};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

fn text_of(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap_or(""))
        .collect()
}

async fn greedy(s: &TestServer, prompt: &str, extra: Value) -> Value {
    let mut cfg = json!({"temperature": 0, "maxOutputTokens": 24});
    cfg.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, v) = s
        .post_json(GEN, &json!({"contents":[{"parts":[{"text": prompt}]}], "generationConfig": cfg}).to_string())
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn response_shape_and_exact_usage() {
    let s = TestServer::real().await;
    let resp = s.post(GEN, r#"{"contents":[{"parts":[{"text":"Explain how AI works"}]}]}"#).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json; charset=UTF-8");
    assert!(resp.headers()["x-gemd-backend"].to_str().unwrap().starts_with("llama.cpp:qwen2.5-coder-0.5b-instruct"));
    let v: Value = resp.json().await.unwrap();
    let c = &v["candidates"][0];
    assert_eq!(c["content"]["role"], "model");
    assert!(!text_of(&v).is_empty());
    assert!(matches!(c["finishReason"].as_str(), Some("STOP" | "MAX_TOKENS")));
    assert_eq!(c["index"], 0);
    let u = &v["usageMetadata"];
    let (p, o, t) = (
        u["promptTokenCount"].as_u64().unwrap(),
        u["candidatesTokenCount"].as_u64().unwrap(),
        u["totalTokenCount"].as_u64().unwrap(),
    );
    assert_eq!(p + o, t);
    assert!(o <= TEST_OUTPUT_LIMIT as u64);
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");
    assert_eq!(v["responseId"].as_str().unwrap().len(), 22);

    // countTokens counts exactly what generation consumed, in both request forms.
    let (_, a) = s
        .post_json(
            "/v1beta/models/gemini-2.5-flash:countTokens",
            r#"{"contents":[{"parts":[{"text":"Explain how AI works"}]}]}"#,
        )
        .await;
    assert_eq!(a["totalTokens"].as_u64(), Some(p));
    assert_eq!(a["promptTokensDetails"][0], json!({"modality": "TEXT", "tokenCount": p}));
    let (_, b) = s
        .post_json(
            "/v1beta/models/gemini-2.5-flash:countTokens",
            r#"{"generateContentRequest":{"model":"models/gemini-2.5-flash","contents":[{"parts":[{"text":"Explain how AI works"}],"role":"user"}],"generationConfig":{}}}"#,
        )
        .await;
    assert_eq!(b["totalTokens"].as_u64(), Some(p));
}

#[tokio::test]
async fn max_output_tokens_ends_with_max_tokens() {
    let s = TestServer::real().await;
    let v = greedy(&s, "Write a long story about a dragon.", json!({"maxOutputTokens": 5})).await;
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 5);
}

#[tokio::test]
async fn temperature_zero_is_reproducible_and_stop_text_is_excluded() {
    let s = TestServer::real_exclusive().await;
    let prompt = "List three colours, one per line.";
    let a = text_of(&greedy(&s, prompt, json!({})).await);
    let b = text_of(&greedy(&s, prompt, json!({})).await);
    assert_eq!(a, b, "greedy decoding must be deterministic");
    // Stop on a piece of the greedy answer: the answer must end right before it.
    let words: Vec<&str> = a.split_whitespace().collect();
    assert!(words.len() >= 3, "answer too short to cut: {a:?}");
    let stop = words[2];
    let cut = a.find(stop).unwrap();
    let v = greedy(&s, prompt, json!({"stopSequences": [stop]})).await;
    assert_eq!(text_of(&v), a[..cut]);
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn seeded_sampling_is_reproducible() {
    let s = TestServer::real_exclusive().await;
    let cfg = json!({"temperature": 1.0, "topP": 0.9, "topK": 40, "seed": 1234, "presencePenalty": 0.5, "frequencyPenalty": 0.5});
    let a = text_of(&greedy(&s, "Invent a name for a cat.", cfg.clone()).await);
    let b = text_of(&greedy(&s, "Invent a name for a cat.", cfg).await);
    assert_eq!(a, b);
}

#[tokio::test]
async fn multi_turn_chat_and_system_instruction() {
    let s = TestServer::real().await;
    let body = json!({
        "systemInstruction": {"parts": [{"text": "You are a pirate."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hello"}]},
            {"role": "model", "parts": [{"text": "Arr, ahoy!"}]},
            {"role": "user", "parts": [{"text": "Who are you?"}]}
        ],
        "generationConfig": {"maxOutputTokens": 8}
    });
    let (status, v) = s.post_json("/v1/models/gemini-2.5-flash:generateContent", &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert!(!text_of(&v).is_empty());
}

#[tokio::test]
async fn concurrent_requests_all_complete() {
    let s = TestServer::real().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (base, http) = (s.base.clone(), s.http.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"contents":[{"parts":[{"text": format!("Count to {i}.")}]}],"generationConfig":{"maxOutputTokens": 12}});
            let r = http.post(format!("{base}{GEN}")).header("x-goog-api-key", crate::harness::KEY).body(body.to_string()).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert!(v["usageMetadata"]["candidatesTokenCount"].as_u64().unwrap() >= 1);
    }
}
