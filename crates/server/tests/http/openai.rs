//! The OpenAI-compatible layer under `/v1beta/openai/` on the real model: chat completions
//! whole and streamed, with exact usage, run the native path. (Framing byte for byte, keys,
//! errors in the layer's form and embeddings: tests/surface/openai.rs.)

use serde_json::{json, Value};

use crate::harness::{TestServer, KEY};
use crate::shared::openai::{expect_400, user, CHAT};

/// Splits an OpenAI SSE body into its JSON events, checking the framing: `data: ` lines
/// separated by a blank line (`\n\n`), `data: [DONE]` last.
fn openai_events(body: &str) -> Vec<Value> {
    assert!(body.ends_with("data: [DONE]\n\n"), "the stream ends with [DONE]: {body:?}");
    assert!(!body.contains('\r'));
    let events: Vec<&str> = body.split_terminator("\n\n").collect();
    assert_eq!(events.iter().filter(|e| **e == "data: [DONE]").count(), 1);
    events[..events.len() - 1]
        .iter()
        .map(|e| {
            let json = e.strip_prefix("data: ").unwrap_or_else(|| panic!("event without `data: `: {e:?}"));
            assert!(!json.contains('\n'), "one line per event");
            serde_json::from_str(json).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn chat_completion_runs_the_native_path_with_exact_usage() {
    let s = TestServer::real().await;
    let (status, v) = s
        .chat(json!({"model": "gemini-2.5-flash", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain to me how AI works"}],
            "temperature": 0, "max_tokens": 24}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"), "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(v["model"], "gemini-2.5-flash");
    let choice = &v["choices"][0];
    assert_eq!((choice["index"].as_u64(), choice["message"]["role"].as_str()), (Some(0), Some("assistant")));
    let text = choice["message"]["content"].as_str().unwrap();
    assert!(!text.is_empty());
    assert!(["stop", "length"].contains(&choice["finish_reason"].as_str().unwrap()));
    let u = &v["usage"];
    assert!(u["completion_tokens"].as_u64().unwrap() <= 24);
    assert_eq!(
        u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap(),
        u["total_tokens"].as_u64().unwrap()
    );

    // The same request on the native surface is the same prompt, token for token. (The
    // answers are not compared here: this engine is shared with tests running at the same time,
    // and when they fill its small KV pool, freed cells are handed out while sequences still
    // decode, which gives up bit-exactness; batching.rs compares answers on engines of its own.)
    let native = json!({"systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
        "contents": [{"role": "user", "parts": [{"text": "Explain to me how AI works"}]}],
        "generationConfig": {"temperature": 0, "maxOutputTokens": 24}});
    let (_, n) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", &native.to_string()).await;
    assert_eq!(n["usageMetadata"]["promptTokenCount"], u["prompt_tokens"]);
    let count = json!({"generateContentRequest": {"model": "models/gemini-2.5-flash", "systemInstruction": native["systemInstruction"], "contents": native["contents"]}});
    let (_, c) = s.post_json("/v1beta/models/gemini-2.5-flash:countTokens", &count.to_string()).await;
    assert_eq!(c["totalTokens"], u["prompt_tokens"]);
}

#[tokio::test]
async fn prefixed_ids_parts_history_and_sampling_fields_are_accepted() {
    let s = TestServer::real().await;
    let resp = s
        .openai_post(CHAT, KEY, &json!({"model": "models/gemini-2.5-flash", "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Answer in one word."}]},
            {"role": "user", "content": [{"type": "text", "text": "What's the weather in Paris?"}]},
            {"role": "assistant", "content": null, "refusal": null,
             "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "{\"condition\": \"sunny\"}"},
            {"role": "user", "content": "So?"}],
            "max_completion_tokens": 5, "temperature": 0.7, "top_p": 0.9, "seed": 7, "stop": "END",
            "presence_penalty": 0.5, "frequency_penalty": 0.5, "n": 1,
            "response_format": {"type": "text"}, "service_tier": "flex", "user": "u1", "logprobs": false,
            "extra_body": {"google": {"thinking_config": {"thinking_budget": 0, "include_thoughts": false}}}}))
        .await;
    let status = resp.status();
    let backend = resp.headers().get("x-gemd-backend").map(|h| h.to_str().unwrap().to_string());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    assert!(backend.unwrap().starts_with("llama.cpp:"));
    assert_eq!(v["model"], "gemini-2.5-flash", "the id is echoed without its prefix");
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() <= 5);
    assert!(!v["choices"][0]["message"]["content"].as_str().unwrap().contains("END"));

    // Tools are harmless when the model may not call them.
    let (status, v) = s
        .chat(json!({"model": "gemini-2.5-flash", "messages": user("hi"), "max_tokens": 2, "tool_choice": "none", "reasoning_effort": "low",
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}))
        .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn real_stream_framing_and_usage() {
    let s = TestServer::real().await;
    let body = json!({"model": "gemini-2.5-flash", "messages": user("Write a haiku about the sea."), "temperature": 0, "max_tokens": 24});
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let resp = s.openai_post(CHAT, KEY, &streamed).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = openai_events(&resp.text().await.unwrap());
    let id = &events[0]["id"];
    assert!(id.as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant", "the first chunk names the role");
    let (usage, chunks) = events.split_last().unwrap();
    let (last, content) = chunks.split_last().unwrap();
    for e in &events {
        assert_eq!(
            (&e["id"], e["object"].as_str(), e["model"].as_str()),
            (id, Some("chat.completion.chunk"), Some("gemini-2.5-flash"))
        );
    }
    for (i, e) in content.iter().enumerate() {
        assert_eq!(e["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(e["choices"][0]["delta"].get("role").is_some(), i == 0);
        assert!(e.get("usage").is_none());
    }
    assert_eq!(last["choices"][0]["delta"], json!({}));
    assert!(["stop", "length"].contains(&last["choices"][0]["finish_reason"].as_str().unwrap()));
    assert_eq!(usage["choices"], json!([]));
    let text: String = content.iter().map(|e| e["choices"][0]["delta"]["content"].as_str().unwrap()).collect();
    assert!(!text.is_empty());
    let u = &usage["usage"];
    let completion = u["completion_tokens"].as_u64().unwrap();
    assert!((1..=24).contains(&completion));
    assert_eq!(u["prompt_tokens"].as_u64().unwrap() + completion, u["total_tokens"].as_u64().unwrap());
    assert_eq!(last["choices"][0]["finish_reason"] == "length", completion == 24);

    // The whole answer to the same request counts the same prompt (answers are not compared:
    // see chat_completion_runs_the_native_path_with_exact_usage).
    let (_, whole) = s.chat(body).await;
    assert_eq!(u["prompt_tokens"], whole["usage"]["prompt_tokens"]);
}

#[tokio::test]
async fn long_prompts_are_refused_with_the_native_limit() {
    let s = TestServer::real().await;
    let e = expect_400(
        &s,
        json!({"model": "gemini-2.5-flash", "messages": user(&"lorem ipsum dolor sit amet ".repeat(1200))}),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("exceeds the maximum number of tokens allowed (2047)"), "{e}");
}
