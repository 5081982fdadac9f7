//! Sentence embeddings: the `Embedder` trait the server's embedding endpoints talk to, the
//! vector arithmetic every backend shares (L2 normalisation, Matryoshka truncation), and the
//! in-process BERT embedder ([`bert`]).
//!
//! Why candle-transformers' BERT and not llama.cpp: llama.cpp can run BERT encoders, but only
//! from GGUF, and the model ships as safetensors + tokenizer.json; converting needs the Python
//! conversion script (and torch-free numpy/gguf packages) at pull time, or a GGUF writer of our
//! own. candle reads the shipped files as they are, is pure Rust (no second C++ build), and its
//! `BertModel` follows the Hugging Face implementation line by line, so mean pooling over the
//! attention mask plus L2 normalisation reproduces sentence-transformers (checked against
//! reference vectors in tests/fixtures/embeddings, cosine ≥ 0.999). The tokenizer is Hugging
//! Face's own `tokenizers` crate reading the model's tokenizer.json, i.e. the code
//! sentence-transformers itself tokenises with.

pub mod bert;
pub mod pieces;
mod plan;

use crate::api::EngineError;

pub use bert::{BertEmbedder, BertEmbedderConfig};

/// A text-embedding backend. Every method is blocking CPU work proportional to its input:
/// async callers run it with `spawn_blocking` (see gemd-server's `embedding` module).
pub trait Embedder: Send + Sync + 'static {
    /// Human-readable name, sent in the `x-gemd-backend` header (e.g. `candle-bert:all-minilm-l6-v2`).
    fn name(&self) -> &str;

    /// Length of every vector [`Embedder::embed`] returns.
    fn dimension(&self) -> usize;

    /// The most tokens (special markers included) one input is embedded from; longer inputs
    /// are truncated to their first `max_tokens`, as sentence-transformers and the real
    /// service do.
    fn max_tokens(&self) -> usize;

    /// How many tokens `text` is, special markers included, before any truncation.
    fn count_tokens(&self, text: &str) -> Result<usize, EngineError>;

    /// `count_tokens(text).min(cap)`, reading no more of `text` than that needs: the tokens
    /// of an input that reach the model, for quota and usage.
    fn count_tokens_capped(&self, text: &str, cap: usize) -> Result<usize, EngineError> {
        Ok(self.count_tokens(text)?.min(cap))
    }

    /// One unit-length vector per text, in order. Implementations batch internally, so a
    /// request of 100 texts is one or a few forward passes, and read no more of a text than
    /// its first `max_tokens` tokens.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EngineError>;
}

/// Scales `v` to unit length (`torch.nn.functional.normalize`: the norm is clamped at 1e-12,
/// so a zero vector stays zero).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// The first `dimension` components of `v`, renormalised to unit length (the Matryoshka
/// reading of `outputDimensionality`). `dimension` at or above `v.len()` returns `v`.
pub fn truncate_normalized(mut v: Vec<f32>, dimension: usize) -> Vec<f32> {
    if dimension < v.len() {
        v.truncate(dimension);
        l2_normalize(&mut v);
    }
    v
}

/// Cosine similarity of two vectors of equal length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_renormalises_and_keeps_direction() {
        let v = vec![0.6, 0.0, 0.8];
        let t = truncate_normalized(v.clone(), 2);
        assert_eq!(t, vec![1.0, 0.0]);
        assert_eq!(truncate_normalized(v.clone(), 3), v);
        assert_eq!(truncate_normalized(v.clone(), 10), v);
    }

    #[test]
    fn zero_vectors_stay_zero() {
        let mut z = vec![0.0f32; 4];
        l2_normalize(&mut z);
        assert!(z.iter().all(|x| *x == 0.0));
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
    }
}
