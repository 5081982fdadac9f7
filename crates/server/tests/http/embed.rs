//! `embedContent`, `batchEmbedContents` and `countTokens` on the embedding ids, served by the
//! real all-MiniLM-L6-v2: vector shape and order, batch = single, `outputDimensionality`,
//! task types and titles, truncation, and the errors (404 across model kinds, 400 naming the
//! field).

use serde_json::{json, Value};

use crate::harness::TestServer;

const DIM: usize = 384;

fn values(v: &Value) -> Vec<f32> {
    v["values"].as_array().unwrap_or_else(|| panic!("no values: {v}")).iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b))
}

fn text(t: &str) -> Value {
    json!({"parts": [{"text": t}]})
}

async fn embed_one(s: &TestServer, model: &str, body: Value) -> Vec<f32> {
    let (status, v) = s.post_json(&format!("/v1beta/models/{model}:embedContent"), &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    values(&v["embedding"])
}

async fn embed_batch(s: &TestServer, model: &str, texts: &[&str]) -> Vec<Vec<f32>> {
    let requests: Vec<Value> = texts.iter().map(|t| json!({"model": format!("models/{model}"), "content": text(t)})).collect();
    let (status, v) = s.post_json(&format!("/v1/models/{model}:batchEmbedContents"), &json!({"requests": requests}).to_string()).await;
    assert_eq!(status, 200, "{v}");
    v["embeddings"].as_array().unwrap().iter().map(values).collect()
}

#[tokio::test]
async fn embed_content_answers_a_unit_vector_tagged_with_the_embedder() {
    let s = TestServer::real().await;
    let resp = s.post("/v1beta/models/text-embedding-004:embedContent", &json!({"content": text("What is the meaning of life?")}).to_string()).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["x-gemd-backend"].to_str().unwrap().starts_with("candle-bert:"));
    let v: Value = resp.json().await.unwrap();
    let e = values(&v["embedding"]);
    assert_eq!(e.len(), DIM);
    assert!((norm(&e) - 1.0).abs() < 1e-4);
}

#[tokio::test]
async fn a_batch_keeps_order_and_equals_single_calls() {
    let s = TestServer::real().await;
    let texts = ["a", "The cat sits on the mat.", "Quantum chromodynamics describes the strong force.", "b"];
    let batch = embed_batch(&s, "gemini-embedding-001", &texts).await;
    assert_eq!(batch.len(), texts.len());
    for (t, b) in texts.iter().zip(&batch) {
        let single = embed_one(&s, "gemini-embedding-001", json!({"content": text(t)})).await;
        assert!(cosine(&single, b) > 0.9999, "{t}: batch and single differ");
    }
}

#[tokio::test]
async fn similar_sentences_are_closer_than_unrelated_ones() {
    let s = TestServer::real().await;
    let v = embed_batch(&s, "text-embedding-004", &["A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply today."]).await;
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.3, "{} vs {}", cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
}

#[tokio::test]
async fn output_dimensionality_truncates_and_renormalises() {
    let s = TestServer::real().await;
    let full = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world")})).await;
    let cut = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world"), "outputDimensionality": 128})).await;
    assert_eq!(cut.len(), 128);
    assert!((norm(&cut) - 1.0).abs() < 1e-4);
    assert!(cosine(&cut, &full[..128]) > 0.9999);
    let same = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world"), "output_dimensionality": DIM})).await;
    assert_eq!(same.len(), DIM);
    let zero = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world"), "outputDimensionality": 0})).await;
    assert_eq!(zero.len(), DIM, "0 is proto3's unset");
}

#[tokio::test]
async fn dimensions_above_the_models_are_refused_with_the_field() {
    let s = TestServer::real().await;
    let (status, v) = s.post_json("/v1beta/models/gemini-embedding-001:embedContent", &json!({"content": text("x"), "outputDimensionality": 768}).to_string()).await;
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
    let s = TestServer::real().await;
    let body = json!({"requests": [
        {"model": "models/text-embedding-004", "content": text("a")},
        {"model": "models/gemini-embedding-001", "content": text("b")},
    ]});
    let (status, v) = s.post_json("/v1beta/models/text-embedding-004:batchEmbedContents", &body.to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "requests[1].model");
    let body = json!({"requests": [{"model": "text-embedding-004", "content": text("a")}]});
    let (status, v) = s.post_json("/v1beta/models/models%2Ftext-embedding-004:batchEmbedContents", &body.to_string()).await;
    assert_eq!(status, 200, "the bare id names the same model: {v}");
    let (status, v) = s.post_json("/v1beta/models/text-embedding-004:batchEmbedContents", r#"{"requests":[]}"#).await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn a_hundred_texts_are_one_request_and_a_hundred_and_one_are_refused() {
    let s = TestServer::real().await;
    let texts: Vec<String> = (0..101).map(|i| format!("sentence number {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = embed_batch(&s, "text-embedding-004", &refs[..100]).await;
    assert_eq!(v.len(), 100);
    assert!(v.iter().all(|e| e.len() == DIM));
    let requests: Vec<Value> = refs.iter().map(|t| json!({"model": "models/text-embedding-004", "content": text(t)})).collect();
    let (status, e) = s.post_json("/v1beta/models/text-embedding-004:batchEmbedContents", &json!({"requests": requests}).to_string()).await;
    assert_eq!(status, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("at most 100"), "{e}");
}

#[tokio::test]
async fn every_task_type_is_accepted_by_name_and_number_and_titles_go_with_documents() {
    let s = TestServer::real().await;
    let plain = embed_one(&s, "text-embedding-004", json!({"content": text("rivers of Europe")})).await;
    let names = ["TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"];
    for (i, name) in names.iter().enumerate() {
        let by_name = embed_one(&s, "text-embedding-004", json!({"content": text("rivers of Europe"), "taskType": name, "title": "ignored"})).await;
        assert!(cosine(&by_name, &plain) > 0.9999, "{name} changes nothing, its title included");
        let number = if i == 0 { 0 } else { i + usize::from(i >= 2) };
        embed_one(&s, "text-embedding-004", json!({"content": text("x"), "taskType": number})).await;
    }
    let doc = embed_one(&s, "text-embedding-004", json!({"content": text("rivers of Europe"), "taskType": 2, "title": "Geography"})).await;
    assert!(cosine(&doc, &plain) < 0.999, "a document's title is embedded with it");
    let (status, v) = s.post_json("/v1beta/models/text-embedding-004:embedContent", &json!({"content": text("x"), "taskType": "NOT_A_TASK"}).to_string()).await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn long_inputs_are_truncated_and_count_tokens_says_so() {
    let s = TestServer::real().await;
    let long = "rivers and mountains ".repeat(400);
    let head = "rivers and mountains ".repeat(127);
    let a = embed_one(&s, "gemini-embedding-001", json!({"content": text(&long)})).await;
    let b = embed_one(&s, "gemini-embedding-001", json!({"content": text(&head)})).await;
    assert!(cosine(&a, &b) > 0.9999, "only the first 256 tokens count");
    let (status, v) = s.post_json("/v1beta/models/gemini-embedding-001:countTokens", &json!({"contents": [text(&long)]}).to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["totalTokens"], 1202, "400 × 3 word pieces + [CLS] and [SEP]");
    let (_, m) = s.get_json("/v1beta/models/gemini-embedding-001").await;
    assert_eq!(m["inputTokenLimit"], 256);
}

#[tokio::test]
async fn model_kinds_do_not_mix() {
    let s = TestServer::real().await;
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
    let s = TestServer::real().await;
    let body = json!({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}});
    let (status, v) = s.post_json("/v1beta/models/gemini-embedding-001:embedContent", &body.to_string()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "content.parts[0]");
    let (status, v) = s.post_json("/v1beta/models/gemini-embedding-001:embedContent", r#"{"content":{"parts":[]}}"#).await;
    assert_eq!(status, 400, "{v}");
    let two = embed_one(&s, "gemini-embedding-001", json!({"content": {"parts": [{"text": "hello"}, {"text": "world"}]}})).await;
    let one = embed_one(&s, "gemini-embedding-001", json!({"content": text("hello world")})).await;
    assert!(cosine(&two, &one) > 0.9999, "parts are joined");
}

#[tokio::test]
async fn models_get_and_list_describe_embedding_models_honestly() {
    let s = TestServer::real().await;
    let (status, m) = s.get_json("/v1beta/models/text-embedding-004").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["supportedGenerationMethods"], json!(["embedContent", "countTokens"]));
    assert_eq!(m["outputTokenLimit"], 1);
    assert!(m["description"].as_str().unwrap().contains("384-dimensional"), "{m}");
    assert!(m.get("temperature").is_none());
    let (_, list) = s.get_json("/v1beta/models?pageSize=1000").await;
    let names: Vec<&str> = list["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"models/gemini-embedding-001") && names.contains(&"models/text-embedding-004"), "{names:?}");
}
