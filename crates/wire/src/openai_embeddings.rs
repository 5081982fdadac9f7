//! The OpenAI layer's `embeddings` endpoint: what a parsed [`EmbeddingRequest`] asks for
//! (its inputs and encoding) and the `list` of embedding objects it is answered with. Both
//! OpenAI SDKs send `encoding_format: "base64"` unless told otherwise and decode the string as
//! little-endian float32; a float list is what `"float"` (and no format) gets.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::openai::EmbeddingRequest;
use crate::parse::{semantic, WireError};

fn invalid(field: &str, reason: &str) -> WireError {
    WireError::Semantic(vec![semantic(field, reason)])
}

impl EmbeddingRequest {
    /// The texts to embed: `input` as one string or an array of strings (token arrays, which
    /// OpenAI also accepts, name another model's vocabulary and are refused).
    pub fn inputs(&self) -> Result<Vec<String>, WireError> {
        match &self.input {
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(invalid(
                        &format!("input[{i}]"),
                        "each input must be a string (token arrays are not supported).",
                    )),
                })
                .collect(),
            Some(Value::Array(_)) => Err(invalid("input", "input must not be empty.")),
            None | Some(Value::Null) => Err(invalid("input", "input is required.")),
            Some(_) => Err(invalid("input", "input must be a string or an array of strings.")),
        }
    }

    /// The requested `dimensions`: absent, or at least 1 (the model's own bound is checked
    /// where the model is known). Unlike the native `outputDimensionality`, whose 0 reads as
    /// unset, OpenAI's field has no "unset" number: 0 and negatives are mistakes, answered 400.
    pub fn dimensions(&self) -> Result<Option<i64>, WireError> {
        match self.dimensions {
            Some(n) if n < 1 => Err(invalid("dimensions", &format!("dimensions must be at least 1, got {n}."))),
            d => Ok(d),
        }
    }

    /// Whether vectors are answered as base64 strings (`"base64"`) or float lists (`"float"`
    /// or absent).
    pub fn wants_base64(&self) -> Result<bool, WireError> {
        match self.encoding_format.as_deref() {
            None | Some("float") => Ok(false),
            Some("base64") => Ok(true),
            Some(other) => Err(invalid(
                "encoding_format",
                &format!("encoding_format must be \"float\" or \"base64\", got \"{other}\"."),
            )),
        }
    }
}

/// One vector, as floats or as base64 of its little-endian float32 bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Float(Vec<f32>),
    Base64(String),
}

impl EmbeddingVector {
    pub fn new(values: Vec<f32>, base64: bool) -> Self {
        if base64 {
            let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
            EmbeddingVector::Base64(STANDARD.encode(bytes))
        } else {
            EmbeddingVector::Float(values)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingObject {
    pub object: String,
    pub index: usize,
    pub embedding: EmbeddingVector,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmbeddingUsage {
    pub prompt_tokens: u32,
    pub total_tokens: u32,
}

/// The answer of `POST embeddings`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingList {
    pub object: String,
    pub data: Vec<EmbeddingObject>,
    pub model: String,
    pub usage: EmbeddingUsage,
}

impl EmbeddingList {
    /// `vectors` in input order; `prompt_tokens` are the tokens the model read.
    pub fn new(vectors: Vec<Vec<f32>>, base64: bool, model: &str, prompt_tokens: u32) -> Self {
        let data = vectors
            .into_iter()
            .enumerate()
            .map(|(index, v)| EmbeddingObject {
                object: "embedding".into(),
                index,
                embedding: EmbeddingVector::new(v, base64),
            })
            .collect();
        EmbeddingList {
            object: "list".into(),
            data,
            model: model.into(),
            usage: EmbeddingUsage { prompt_tokens, total_tokens: prompt_tokens },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::parse_embedding;

    #[test]
    fn inputs_are_a_string_or_strings() {
        let r = parse_embedding(br#"{"model":"m","input":["a","b"],"encoding_format":"base64"}"#).unwrap();
        assert_eq!(r.inputs().unwrap(), vec!["a", "b"]);
        assert!(r.wants_base64().unwrap());
        let r = parse_embedding(br#"{"model":"m","input":[[1,2,3]]}"#).unwrap();
        assert_eq!(r.inputs().unwrap_err().violations()[0].field.as_deref(), Some("input[0]"));
        assert!(parse_embedding(br#"{"model":"m","input":[]}"#).unwrap().inputs().is_err());
        assert!(parse_embedding(br#"{"model":"m","input":"x","encoding_format":"int8"}"#)
            .unwrap()
            .wants_base64()
            .is_err());
    }

    #[test]
    fn dimensions_below_one_are_refused_by_name() {
        for n in ["-5", "0"] {
            let r = parse_embedding(format!(r#"{{"model":"m","input":"x","dimensions":{n}}}"#).as_bytes()).unwrap();
            assert_eq!(r.dimensions().unwrap_err().violations()[0].field.as_deref(), Some("dimensions"), "{n}");
        }
        assert_eq!(
            parse_embedding(br#"{"model":"m","input":"x","dimensions":64}"#).unwrap().dimensions().unwrap(),
            Some(64)
        );
        assert_eq!(parse_embedding(br#"{"model":"m","input":"x"}"#).unwrap().dimensions().unwrap(), None);
        // Not an integer at all: refused by the parser, by name.
        let e = parse_embedding(br#"{"model":"m","input":"x","dimensions":1e12}"#).unwrap_err();
        assert_eq!(e.violations()[0].field.as_deref(), Some("dimensions"));
    }

    #[test]
    fn base64_is_little_endian_float32() {
        let EmbeddingVector::Base64(s) = EmbeddingVector::new(vec![1.0, -0.5], true) else { panic!("base64 asked") };
        let bytes = STANDARD.decode(s).unwrap();
        assert_eq!(bytes, [1.0f32.to_le_bytes(), (-0.5f32).to_le_bytes()].concat());
        let list = serde_json::to_value(EmbeddingList::new(vec![vec![0.25]], false, "m", 3)).unwrap();
        assert_eq!(list["data"][0]["embedding"], serde_json::json!([0.25]));
        assert_eq!(list["usage"]["total_tokens"], 3);
    }
}
