//! The OpenAI-compatible layer under `/v1beta/openai/` on scripted backends: stream framing
//! byte for byte, failures mid-stream, keys, the model list, embeddings' encodings, and
//! errors in the layer's form (the `google.rpc.Status` envelope inside a JSON array, native
//! statuses). (Answers, usage and the input limit of the real model: http/openai.rs.)

use std::sync::Arc;

use gemd_engine::{EngineError, Event};
use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer, KEY};
use crate::shared::openai::{expect_400, layer_error, user, CHAT};

#[tokio::test]
async fn scripted_stream_framing_is_byte_exact() {
    let s = TestServer::with_engine(Arc::new(ScriptedEngine::text_then_done(&["Hi", " there"]))).await;
    let mut body = json!({"model": "gemini-2.5-flash", "messages": user("x"), "stream": true});
    let plain = s.openai_post(CHAT, KEY, &body).await.text().await.unwrap();
    body["stream_options"] = json!({"include_usage": true});
    let with_usage = s.openai_post(CHAT, KEY, &body).await.text().await.unwrap();

    let frame = |stream: &str, choices: Value, usage: Option<Value>| {
        let first: Value =
            serde_json::from_str(stream.split("\n\n").next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        let mut chunk = json!({"id": first["id"], "object": "chat.completion.chunk", "created": first["created"], "model": "gemini-2.5-flash", "choices": choices});
        if let Some(u) = usage {
            chunk["usage"] = u;
        }
        format!("data: {chunk}\n\n")
    };
    let content =
        |stream: &str, delta: Value| frame(stream, json!([{"index": 0, "delta": delta, "finish_reason": null}]), None);
    let finish = |stream: &str| frame(stream, json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]), None);
    // The scripted engine sends "Hi", " there" and the end 5 ms apart, and counts one prompt
    // token per word ("x").
    let expected = |stream: &str, usage: bool| {
        let mut out = content(stream, json!({"role": "assistant", "content": "Hi"}))
            + &content(stream, json!({"content": " there"}))
            + &finish(stream);
        if usage {
            out +=
                &frame(stream, json!([]), Some(json!({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})));
        }
        out + "data: [DONE]\n\n"
    };
    assert_eq!(plain, expected(&plain, false));
    assert_eq!(with_usage, expected(&with_usage, true));
}

#[tokio::test]
async fn a_failure_mid_stream_ends_it_with_an_error_event() {
    let script = vec![
        Event::Text { text: "Hello".into(), output_tokens: 1 },
        Event::Failed(EngineError::Internal("boom".into())),
    ];
    let s = TestServer::with_engine(Arc::new(ScriptedEngine::new(script))).await;
    let text = s
        .openai_post(CHAT, KEY, &json!({"model": "gemini-2.5-flash", "messages": user("hi"), "stream": true}))
        .await
        .text()
        .await
        .unwrap();
    let events: Vec<Value> = text
        .split_terminator("\n\n")
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    assert_eq!(events[0]["choices"][0]["delta"]["content"], "Hello");
    // A plain object with `error`: what the OpenAI SDKs raise as an APIError mid-stream.
    assert_eq!(events[1]["error"]["code"], 500);
    assert_eq!(events[1]["error"]["status"], "INTERNAL");
    assert!(!text.contains("[DONE]"));

    // Before the first chunk, a refusal is a plain HTTP error.
    let mut busy = ScriptedEngine::text_then_done(&["x"]);
    busy.refuse = Some(EngineError::Overloaded);
    let s = TestServer::with_engine(Arc::new(busy)).await;
    let resp =
        s.openai_post(CHAT, KEY, &json!({"model": "gemini-2.5-flash", "messages": user("hi"), "stream": true})).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(layer_error(503, &resp.json().await.unwrap())["status"], "UNAVAILABLE");
}

#[tokio::test]
async fn keys_are_checked_against_the_same_ring_and_refused_in_the_layer_form() {
    let s = TestServer::scripted().await;
    let body = json!({"model": "gemini-2.5-flash", "messages": user("hi"), "max_tokens": 2});
    // A wrong key: 400 INVALID_ARGUMENT / API_KEY_INVALID, as the real layer (openai SDKs raise
    // BadRequestError).
    let resp = s.openai_post(CHAT, "AIzaSyNotAValidKeyForThisServer0000000", &body).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    let e = layer_error(400, &v);
    assert_eq!(e["message"], "API key not valid. Please pass a valid API key.");
    assert_eq!(e["details"][0]["reason"], "API_KEY_INVALID");
    // No key at all: 403 PERMISSION_DENIED.
    let resp = s.http.post(format!("{}{CHAT}", s.base)).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(layer_error(403, &resp.json().await.unwrap())["status"], "PERMISSION_DENIED");
    // The native header and query forms work on the layer too.
    let resp = s.http.post(format!("{}{CHAT}", s.base)).header("x-goog-api-key", KEY).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = s.http.get(format!("{}/v1beta/openai/models?key={KEY}", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // The bearer form is the layer's own: native paths keep their rules.
    let resp = s.http.get(format!("{}/v1beta/models", s.base)).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn unknown_models_and_paths_are_404() {
    let s = TestServer::scripted().await;
    let (status, v) = s.chat(json!({"model": "gemini-9-ultra", "messages": user("hi")})).await;
    assert_eq!(status, 404);
    let e = layer_error(404, &v);
    assert_eq!(e["status"], "NOT_FOUND");
    assert!(
        e["message"].as_str().unwrap().starts_with("models/gemini-9-ultra is not found for API version v1beta"),
        "{e}"
    );
    let (status, v) = s.openai_get("/v1beta/openai/models/gemini-9-ultra").await;
    assert_eq!((status, layer_error(404, &v)["status"].as_str()), (404, Some("NOT_FOUND")));
    let (status, v) = s.openai_get("/v1beta/openai/responses").await;
    assert_eq!((status, layer_error(404, &v)["status"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn unsupported_features_are_400_naming_the_field() {
    let s = TestServer::scripted().await;
    let field = |e: &Value| e["details"][0]["fieldViolations"][0]["field"].as_str().map(str::to_owned);
    let base = |extra: Value| {
        let mut b = json!({"model": "gemini-2.5-flash", "messages": user("hi")});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    // Tools and response formats are supported (tests/http/tools.rs); malformed ones are not.
    let tool = json!([{"type": "function", "function": {"name": "get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);

    let e = expect_400(&s, base(json!({"n": 2}))).await;
    assert_eq!(field(&e).as_deref(), Some("n"));
    assert!(e["message"].as_str().unwrap().contains("n > 1 is not supported"));

    let e = expect_400(&s, base(json!({"tools": tool, "tool_choice": "auto"}))).await;
    assert_eq!(field(&e).as_deref(), Some("tools[0].function.name"));
    assert!(e["message"].as_str().unwrap().contains("Invalid function name"), "{e}");
    let e = expect_400(&s, base(json!({"tool_choice": "required"}))).await;
    assert_eq!(field(&e).as_deref(), Some("tool_choice"));
    let e = expect_400(&s, base(json!({"response_format": {"type": "xml"}}))).await;
    assert_eq!(field(&e).as_deref(), Some("response_format.type"));
    let e =
        expect_400(&s, base(json!({"response_format": {"type": "json_schema", "json_schema": {"name": "r"}}}))).await;
    assert_eq!(field(&e).as_deref(), Some("response_format.json_schema.schema"));

    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP8z4AdMOEQH6QSAM1BAQ/oQeJvAAAAAElFTkSuQmCC";
    let e = expect_400(&s, base(json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": png}}]}]}))).await;
    assert_eq!(field(&e).as_deref(), Some("messages[0].content[1].image_url"));
    assert!(e["message"].as_str().unwrap().contains("Unable to process input image (image/png)"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("text-only backend"), "{e}");

    let e = expect_400(&s, json!({"model": "gemma-3-27b-it", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]})).await;
    assert_eq!(e["message"], "Developer instruction is not enabled for models/gemma-3-27b-it");

    let e = expect_400(&s, base(json!({"extra_body": {"google": {"cached_content": "cachedContents/x"}}}))).await;
    assert_eq!(field(&e).as_deref(), Some("extra_body.google.cached_content"));
}

#[tokio::test]
async fn malformed_bodies_are_400_like_the_real_layer() {
    let s = TestServer::scripted().await;
    let e =
        expect_400(&s, json!({"model": "gemini-2.5-flash", "messages": user("hi"), "thinking": {"type": "enabled"}}))
            .await;
    assert_eq!(e["message"], "Invalid JSON payload received. Unknown name \"thinking\": Cannot find field.");
    let e = expect_400(&s, json!({"model": "gemini-2.5-flash", "messages": user("hi"), "google": {}})).await;
    assert_eq!(e["message"], "Invalid JSON payload received. Unknown name \"google\": Cannot find field.");
    let e = expect_400(&s, json!({"model": "gemini-2.5-flash", "messages": user("hi"), "temperature": 3})).await;
    assert!(e["message"].as_str().unwrap().contains("temperature must be in the range [0.0, 2.0]"), "{e}");
    let e = expect_400(&s, json!({"model": "gemini-2.5-flash", "messages": []})).await;
    assert_eq!(e["details"][0]["fieldViolations"][0]["field"], "messages");
    let e = expect_400(&s, json!({"model": "gemini-2.5-flash", "messages": user("hi"), "max_tokens": "many"})).await;
    assert_eq!(e["details"][0]["fieldViolations"][0]["field"], "max_tokens");
    let resp = s.http.post(format!("{}{CHAT}", s.base)).bearer_auth(KEY).body("{\"model\":").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(layer_error(400, &v)["message"].as_str().unwrap().starts_with("Invalid JSON payload received."));
}

#[tokio::test]
async fn models_list_and_retrieve() {
    let s = TestServer::scripted().await;
    let (status, v) = s.openai_get("/v1beta/openai/models").await;
    assert_eq!(status, 200);
    assert_eq!(v["object"], "list");
    let data = v["data"].as_array().unwrap();
    assert!(data.len() >= 10);
    for m in data {
        assert!(m["id"].as_str().unwrap().starts_with("models/"), "{m}");
        assert_eq!((m["object"].as_str(), m["owned_by"].as_str()), (Some("model"), Some("google")));
        assert!(m["created"].is_u64());
    }
    assert!(data.iter().any(|m| m["id"] == "models/gemini-2.5-flash"));
    for path in ["gemini-2.5-flash", "models/gemini-2.5-flash"] {
        let (status, m) = s.openai_get(&format!("/v1beta/openai/models/{path}")).await;
        assert_eq!(status, 200);
        assert_eq!(m["id"], "models/gemini-2.5-flash");
        assert_eq!(m["object"], "model");
    }
    // Aliases resolve to the canonical id.
    let (_, m) = s.openai_get("/v1beta/openai/models/gemma-3-27b-instruct").await;
    assert_eq!(m["id"], "models/gemma-3-27b-it");
}

#[tokio::test]
async fn embeddings_answer_floats_or_little_endian_base64_from_the_native_embedder() {
    let s = TestServer::scripted().await;
    let post = |body: Value| {
        let s = &s;
        async move {
            let resp = s.openai_post("/v1beta/openai/embeddings", KEY, &body).await;
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, f) =
        post(json!({"model": "gemini-embedding-001", "input": ["a", "hello world"], "encoding_format": "float"})).await;
    assert_eq!(status, 200, "{f}");
    assert_eq!((f["object"].as_str(), f["model"].as_str()), (Some("list"), Some("gemini-embedding-001")));
    assert_eq!(f["data"][1]["index"], 1);
    assert_eq!(f["data"][1]["object"], "embedding");
    let floats: Vec<f32> =
        f["data"][1]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    assert_eq!(floats.len(), 384);
    assert_eq!(f["usage"]["prompt_tokens"], 3 + 4, "[CLS] a [SEP] + [CLS] hello world [SEP]");
    let (status, b) =
        post(json!({"model": "models/gemini-embedding-001", "input": "hello world", "encoding_format": "base64"}))
            .await;
    assert_eq!(status, 200, "{b}");
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
    let decoded: Vec<f32> = bytes.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(decoded, floats, "base64 carries the same little-endian float32 values");
    let (status, native) = s
        .post_json(
            "/v1beta/models/gemini-embedding-001:embedContent",
            &json!({"content": {"parts": [{"text": "hello world"}]}}).to_string(),
        )
        .await;
    assert_eq!(status, 200);
    let native: Vec<f32> =
        native["embedding"]["values"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    assert_eq!(native, floats, "the layer and the native surface share the embedder");
    let (status, d) =
        post(json!({"model": "text-embedding-004", "input": "x", "dimensions": 64, "encoding_format": "float"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["data"][0]["embedding"].as_array().unwrap().len(), 64);
}

#[tokio::test]
async fn embedding_errors_take_the_layer_form() {
    let s = TestServer::scripted().await;
    for (body, status, field) in [
        (json!({"model": "gemini-embedding-001", "input": "x", "dimensions": 385}), 400, Some("dimensions")),
        (json!({"model": "gemini-embedding-001", "input": [[1, 2]]}), 400, Some("input[0]")),
        (
            json!({"model": "gemini-embedding-001", "input": "x", "encoding_format": "int8"}),
            400,
            Some("encoding_format"),
        ),
        (json!({"model": "gemini-2.5-flash", "input": "x"}), 404, None),
    ] {
        let resp = s.openai_post("/v1beta/openai/embeddings", KEY, &body).await;
        assert_eq!(resp.status().as_u16(), status, "{body}");
        let v: Value = resp.json().await.unwrap();
        let e = layer_error(status, &v);
        if let Some(field) = field {
            assert_eq!(e["details"][0]["fieldViolations"][0]["field"], field, "{e}");
        }
    }
}

// A cap above the model's limit is refused, not clamped: hardening_small.rs.
