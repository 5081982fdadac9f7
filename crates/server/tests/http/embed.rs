//! `embedContent`, `batchEmbedContents` and `countTokens` on the embedding ids, served by the
//! real all-MiniLM-L6-v2: unit vectors tagged with it, batch = single, similar sentences
//! closer, and truncation at its 256 tokens. (Dimensions, task types, limits and errors, on a
//! scripted embedder: tests/surface/embed.rs.)

use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::shared::embeddings::{cosine, embed_batch, embed_one, norm, text, values, DIM};

#[tokio::test]
async fn embed_content_answers_a_unit_vector_tagged_with_the_embedder() {
    let s = TestServer::real().await;
    let resp = s
        .post(
            "/v1beta/models/text-embedding-004:embedContent",
            &json!({"content": text("What is the meaning of life?")}).to_string(),
        )
        .await;
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
    let v = embed_batch(
        &s,
        "text-embedding-004",
        &["A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply today."],
    )
    .await;
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.3, "{} vs {}", cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
}

#[tokio::test]
async fn long_inputs_are_truncated_and_count_tokens_says_so() {
    let s = TestServer::real().await;
    let long = "rivers and mountains ".repeat(400);
    let head = "rivers and mountains ".repeat(127);
    let a = embed_one(&s, "gemini-embedding-001", json!({"content": text(&long)})).await;
    let b = embed_one(&s, "gemini-embedding-001", json!({"content": text(&head)})).await;
    assert!(cosine(&a, &b) > 0.9999, "only the first 256 tokens count");
    let (status, v) = s
        .post_json("/v1beta/models/gemini-embedding-001:countTokens", &json!({"contents": [text(&long)]}).to_string())
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["totalTokens"], 1202, "400 × 3 word pieces + [CLS] and [SEP]");
    let (_, m) = s.get_json("/v1beta/models/gemini-embedding-001").await;
    assert_eq!(m["inputTokenLimit"], 256);
}
