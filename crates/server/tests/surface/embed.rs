//! `embedContent`, `batchEmbedContents` and `countTokens` on the embedding ids, served by the
//! scripted embedder (all-MiniLM-L6-v2's shape): `outputDimensionality`, task types and
//! titles, batch limits, the listing, and the errors (404 across model kinds, 400 naming the
//! field). (What the real embedder's vectors and tokens are: http/embed.rs.)

use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::shared::embeddings::{cosine, embed_batch, embed_one, norm, text, DIM};

#[tokio::test]
async fn output_dimensionality_truncates_and_renormalises() {
    let s = TestServer::scripted().await;
    let full = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world")})).await;
    let cut =
        embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world"), "outputDimensionality": 128}))
            .await;
    assert_eq!(cut.len(), 128);
    assert!((norm(&cut) - 1.0).abs() < 1e-4);
    assert!(cosine(&cut, &full[..128]) > 0.9999);
    let same =
        embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world"), "output_dimensionality": DIM}))
            .await;
    assert_eq!(same.len(), DIM);
    let zero =
        embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world"), "outputDimensionality": 0})).await;
    assert_eq!(zero.len(), DIM, "0 is proto3's unset");
}

#[tokio::test]
async fn dimensions_above_the_models_are_refused_with_the_field() {
    let s = TestServer::scripted().await;
    let (status, v) = s
        .post_json(
            "/v1beta/models/gemini-embedding-001:embedContent",
            &json!({"content": text("x"), "outputDimensionality": 768}).to_string(),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "output_dimensionality");
    assert!(v["error"]["message"].as_str().unwrap().contains("at most 384"), "{v}");
    let body = json!({"requests": [
        {"model": "models/gemini-embedding-001", "content": text("a")},
        {"model": "models/gemini-embedding-001", "content": text("b"), "outputDimensionality": 3072},
    ]});
    let (status, v) = s.post_json("/v1beta/models/gemini-embedding-001:batchEmbedContents", &body.to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "requests[1].output_dimensionality");
}

#[tokio::test]
async fn batch_requests_must_name_the_path_model() {
    let s = TestServer::scripted().await;
    let body = json!({"requests": [
        {"model": "models/text-embedding-004", "content": text("a")},
        {"model": "models/gemini-embedding-001", "content": text("b")},
    ]});
    let (status, v) = s.post_json("/v1beta/models/text-embedding-004:batchEmbedContents", &body.to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "requests[1].model");
    let body = json!({"requests": [{"model": "text-embedding-004", "content": text("a")}]});
    let (status, v) =
        s.post_json("/v1beta/models/models%2Ftext-embedding-004:batchEmbedContents", &body.to_string()).await;
    assert_eq!(status, 200, "the bare id names the same model: {v}");
    let (status, v) = s.post_json("/v1beta/models/text-embedding-004:batchEmbedContents", r#"{"requests":[]}"#).await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn a_hundred_texts_are_one_request_and_a_hundred_and_one_are_refused() {
    let s = TestServer::scripted().await;
    let texts: Vec<String> = (0..101).map(|i| format!("sentence number {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = embed_batch(&s, "text-embedding-004", &refs[..100]).await;
    assert_eq!(v.len(), 100);
    assert!(v.iter().all(|e| e.len() == DIM));
    let requests: Vec<Value> =
        refs.iter().map(|t| json!({"model": "models/text-embedding-004", "content": text(t)})).collect();
    let (status, e) = s
        .post_json("/v1beta/models/text-embedding-004:batchEmbedContents", &json!({"requests": requests}).to_string())
        .await;
    assert_eq!(status, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("at most 100"), "{e}");
}

#[tokio::test]
async fn every_task_type_is_accepted_by_name_and_number_and_titles_go_with_documents() {
    let s = TestServer::scripted().await;
    let plain = embed_one(&s, "text-embedding-004", json!({"content": text("rivers of Europe")})).await;
    let names = [
        "TASK_TYPE_UNSPECIFIED",
        "RETRIEVAL_QUERY",
        "SEMANTIC_SIMILARITY",
        "CLASSIFICATION",
        "CLUSTERING",
        "QUESTION_ANSWERING",
        "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    ];
    for (i, name) in names.iter().enumerate() {
        let by_name = embed_one(
            &s,
            "text-embedding-004",
            json!({"content": text("rivers of Europe"), "taskType": name, "title": "ignored"}),
        )
        .await;
        assert!(cosine(&by_name, &plain) > 0.9999, "{name} changes nothing, its title included");
        let number = if i == 0 { 0 } else { i + usize::from(i >= 2) };
        embed_one(&s, "text-embedding-004", json!({"content": text("x"), "taskType": number})).await;
    }
    let doc = embed_one(
        &s,
        "text-embedding-004",
        json!({"content": text("rivers of Europe"), "taskType": 2, "title": "Geography"}),
    )
    .await;
    assert!(cosine(&doc, &plain) < 0.999, "a document's title is embedded with it");
    let (status, v) = s
        .post_json(
            "/v1beta/models/text-embedding-004:embedContent",
            &json!({"content": text("x"), "taskType": "NOT_A_TASK"}).to_string(),
        )
        .await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn model_kinds_do_not_mix() {
    let s = TestServer::scripted().await;
    for (path, method) in [
        ("/v1beta/models/gemini-2.5-flash:embedContent", "embedContent"),
        ("/v1/models/gemini-2.5-flash:batchEmbedContents", "batchEmbedContents"),
        ("/v1beta/models/gemini-embedding-001:generateContent", "generateContent"),
        ("/v1beta/models/text-embedding-004:streamGenerateContent", "streamGenerateContent"),
        ("/v1beta/models/no-such-model:embedContent", "embedContent"),
    ] {
        let (status, v) = s.post_json(path, &json!({"content": text("x"), "contents": [text("x")]}).to_string()).await;
        assert_eq!(status, 404, "{path}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(&format!("is not supported for {method}")), "{v}");
    }
}

#[tokio::test]
async fn only_text_parts_are_embedded() {
    let s = TestServer::scripted().await;
    let body = json!({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}});
    let (status, v) = s.post_json("/v1beta/models/gemini-embedding-001:embedContent", &body.to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "content.parts[0]");
    let (status, v) =
        s.post_json("/v1beta/models/gemini-embedding-001:embedContent", r#"{"content":{"parts":[]}}"#).await;
    assert_eq!(status, 400, "{v}");
    let two =
        embed_one(&s, "gemini-embedding-001", json!({"content": {"parts": [{"text": "hello"}, {"text": "world"}]}}))
            .await;
    let one = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world")})).await;
    assert!(cosine(&two, &one) > 0.9999, "parts are joined");
}

#[tokio::test]
async fn models_get_and_list_describe_embedding_models_honestly() {
    let s = TestServer::scripted().await;
    let (status, m) = s.get_json("/v1beta/models/text-embedding-004").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["supportedGenerationMethods"], json!(["embedContent", "countTokens"]));
    assert_eq!(m["outputTokenLimit"], 1);
    assert!(m["description"].as_str().unwrap().contains("384-dimensional"), "{m}");
    assert!(m.get("temperature").is_none());
    let (_, list) = s.get_json("/v1beta/models?pageSize=1000").await;
    let names: Vec<&str> = list["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"models/gemini-embedding-001") && names.contains(&"models/text-embedding-004"),
        "{names:?}"
    );
}
