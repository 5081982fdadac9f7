//! Texts to embed, written for an upstream of either protocol, and its answer read back as
//! vectors: `batchEmbedContents` for a Gemini upstream (one request per text, each with its
//! own `outputDimensionality` and task type), `POST /embeddings` for an OpenAI-compatible one
//! (every text in one `input` list; its vectors come back whole and are cut to the asked
//! dimension here, since `dimensions` is refused by most servers whose models were not
//! trained for it, and cutting then renormalising is what gemd's own embedder does).

use gemd_engine::embed::truncate_normalized;
use serde_json::{json, Value};

use super::error::TranslateError;

/// One text and what it is asked with.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedAsk {
    pub text: String,
    /// `outputDimensionality` / `dimensions` as the client gave it (none, 0: the model's own).
    pub dimensionality: Option<i64>,
    /// The proto path of `dimensionality`, for the refusal of a local embedder.
    pub dimensionality_field: String,
    /// A Gemini `TaskType` name, passed to a Gemini upstream (an OpenAI one has none).
    pub task_type: Option<String>,
}

impl EmbedAsk {
    /// The dimension to cut to, when one was asked.
    pub fn dimension(&self) -> Option<usize> {
        self.dimensionality.filter(|n| *n > 0).map(|n| n as usize)
    }
}

/// Vectors read from an upstream's answer, in input order, and the tokens it says it read.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamVectors {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: Option<u32>,
}

/// `batchEmbedContents` of `asks` on `models/{upstream_model}`.
pub fn gemini_body(upstream_model: &str, asks: &[EmbedAsk]) -> Value {
    let requests: Vec<Value> = asks
        .iter()
        .map(|a| {
            let mut r = json!({"model": format!("models/{upstream_model}"), "content": {"parts": [{"text": a.text}]}});
            if let Some(d) = a.dimension() {
                r["outputDimensionality"] = json!(d);
            }
            if let Some(t) = &a.task_type {
                r["taskType"] = json!(t);
            }
            r
        })
        .collect();
    json!({ "requests": requests })
}

/// `POST /embeddings` of `asks` for `upstream_model`.
pub fn openai_body(upstream_model: &str, asks: &[EmbedAsk]) -> Value {
    let input: Vec<&str> = asks.iter().map(|a| a.text.as_str()).collect();
    json!({"model": upstream_model, "input": input, "encoding_format": "float"})
}

fn malformed(backend: &str, reason: impl Into<String>) -> TranslateError {
    TranslateError::Malformed { backend: backend.to_string(), expected: "an embedding list", reason: reason.into() }
}

fn floats(v: &Value) -> Option<Vec<f32>> {
    v.as_array()?.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
}

/// A `batchEmbedContents` answer: one vector per ask.
pub fn read_gemini(body: &[u8], asks: &[EmbedAsk], backend: &str) -> Result<UpstreamVectors, TranslateError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(backend, e.to_string()))?;
    let list = v.get("embeddings").and_then(Value::as_array).ok_or_else(|| malformed(backend, "no `embeddings`"))?;
    if list.len() != asks.len() {
        return Err(malformed(backend, format!("{} vectors for {} inputs", list.len(), asks.len())));
    }
    let vectors = list
        .iter()
        .map(|e| e.get("values").and_then(floats).ok_or_else(|| malformed(backend, "an embedding has no `values`")))
        .collect::<Result<_, _>>()?;
    let tokens = v.pointer("/usageMetadata/promptTokenCount").and_then(Value::as_u64).map(clamp);
    Ok(UpstreamVectors { vectors, tokens })
}

/// An OpenAI embedding list: ordered by each item's `index`, each cut to its ask's dimension.
pub fn read_openai(body: &[u8], asks: &[EmbedAsk], backend: &str) -> Result<UpstreamVectors, TranslateError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(backend, e.to_string()))?;
    let data = v.get("data").and_then(Value::as_array).ok_or_else(|| malformed(backend, "no `data`"))?;
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; asks.len()];
    for (position, item) in data.iter().enumerate() {
        let index = item.get("index").and_then(Value::as_u64).map_or(position, |i| i as usize);
        let values = item.get("embedding").and_then(floats).ok_or_else(|| {
            malformed(backend, "an item's `embedding` is not a list of numbers (gemd asks for encoding_format float)")
        })?;
        match slots.get_mut(index) {
            Some(slot @ None) => *slot = Some(values),
            _ => return Err(malformed(backend, format!("item index {index} is out of range or repeated"))),
        }
    }
    let vectors = slots
        .into_iter()
        .zip(asks)
        .map(|(slot, ask)| {
            let v =
                slot.ok_or_else(|| malformed(backend, format!("{} vectors for {} inputs", data.len(), asks.len())))?;
            Ok(match ask.dimension() {
                Some(d) => truncate_normalized(v, d),
                None => v,
            })
        })
        .collect::<Result<_, TranslateError>>()?;
    let tokens = v.pointer("/usage/prompt_tokens").and_then(Value::as_u64).map(clamp);
    Ok(UpstreamVectors { vectors, tokens })
}

fn clamp(n: u64) -> u32 {
    n.min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(text: &str, dimensionality: Option<i64>) -> EmbedAsk {
        EmbedAsk {
            text: text.into(),
            dimensionality,
            dimensionality_field: "dimensions".into(),
            task_type: Some("RETRIEVAL_QUERY".into()),
        }
    }

    #[test]
    fn gemini_requests_carry_each_dimension_and_task() {
        let body = gemini_body("text-embedding-004", &[ask("a", Some(2)), ask("b", None)]);
        assert_eq!(
            body,
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]},
                 "outputDimensionality": 2, "taskType": "RETRIEVAL_QUERY"},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]},
                 "taskType": "RETRIEVAL_QUERY"}]})
        );
        let read = read_gemini(
            br#"{"embeddings": [{"values": [1, 0]}, {"values": [0.5, 0.5, 0]}]}"#,
            &[ask("a", Some(2)), ask("b", None)],
            "g",
        )
        .unwrap();
        assert_eq!(read.vectors, vec![vec![1.0, 0.0], vec![0.5, 0.5, 0.0]]);
        assert!(read_gemini(br#"{"embeddings": []}"#, &[ask("a", None)], "g").is_err(), "one vector per input");
    }

    #[test]
    fn openai_items_are_put_in_index_order_and_cut() {
        let asks = [ask("a", Some(1)), ask("b", None)];
        assert_eq!(openai_body("bge", &asks), json!({"model": "bge", "input": ["a", "b"], "encoding_format": "float"}));
        let body = br#"{"data": [{"index": 1, "embedding": [0.0, 2.0]}, {"index": 0, "embedding": [3.0, 4.0]}],
                        "usage": {"prompt_tokens": 7, "total_tokens": 7}}"#;
        let read = read_openai(body, &asks, "o").unwrap();
        assert_eq!(read.vectors, vec![vec![1.0], vec![0.0, 2.0]], "the first cut to one dimension and renormalised");
        assert_eq!(read.tokens, Some(7));
        let repeated = br#"{"data": [{"index": 0, "embedding": [1]}, {"index": 0, "embedding": [1]}]}"#;
        assert!(read_openai(repeated, &asks, "o").is_err());
        let base64 = br#"{"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": "AAAA"}]}"#;
        assert!(read_openai(base64, &asks, "o").is_err());
    }
}
