//! A client of the embedding ids (`embedContent`, `batchEmbedContents`) and the vector
//! arithmetic their tests compare answers with.

use serde_json::{json, Value};

use super::server::TestServer;

/// The dimension of every embedder the tests run (all-MiniLM-L6-v2's, or its scripted shape).
pub const DIM: usize = 384;

/// The `values` of one `ContentEmbedding`.
pub fn values(v: &Value) -> Vec<f32> {
    let values = v["values"].as_array().unwrap_or_else(|| panic!("no values: {v}"));
    values.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b))
}

/// A `Content` of one text part.
pub fn text(t: &str) -> Value {
    json!({"parts": [{"text": t}]})
}

/// The vector `embedContent` of `body` answers, checked to be a 200.
pub async fn embed_one(s: &TestServer, model: &str, body: Value) -> Vec<f32> {
    let path = format!("/v1beta/models/{model}:embedContent");
    let (status, v) = s.post_json(&path, &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    values(&v["embedding"])
}

/// The vectors one `batchEmbedContents` of `texts` answers (on /v1), checked to be a 200.
pub async fn embed_batch(s: &TestServer, model: &str, texts: &[&str]) -> Vec<Vec<f32>> {
    let requests: Vec<Value> =
        texts.iter().map(|t| json!({"model": format!("models/{model}"), "content": text(t)})).collect();
    let path = format!("/v1/models/{model}:batchEmbedContents");
    let (status, v) = s.post_json(&path, &json!({"requests": requests}).to_string()).await;
    assert_eq!(status, 200, "{v}");
    v["embeddings"].as_array().unwrap().iter().map(values).collect()
}
