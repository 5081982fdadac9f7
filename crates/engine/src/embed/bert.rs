//! A sentence-transformers BERT model (all-MiniLM-L6-v2 by default) run in-process on the CPU
//! with candle: tokenise with the model's tokenizer.json, run the encoder over length-sorted
//! passes, mean-pool the last hidden states over the attention mask and L2-normalise: the
//! `Transformer → Pooling(mean) → Normalize` pipeline of the model's modules.json.
//!
//! The weights load on the first embedding call, not at start-up: a server that never embeds
//! (most chat deployments) does not hold the ~130 MB of f32 weights. `load` still reads the
//! config, the tokenizer and the safetensors header, so a missing or broken model fails at
//! start-up.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use serde_json::Value;
use tokenizers::{PostProcessor, Tokenizer, TruncationParams};

use super::pieces::{self, PIECE_BYTES};
use super::{l2_normalize, plan, Embedder};
use crate::api::EngineError;

/// Where the model is and how big its forward passes may be.
#[derive(Debug, Clone)]
pub struct BertEmbedderConfig {
    /// A sentence-transformers directory: config.json, model.safetensors, tokenizer.json and
    /// optionally sentence_bert_config.json (`max_seq_length`) and 1_Pooling/config.json.
    pub dir: PathBuf,
    /// Padded tokens (sequences × padded length) per forward pass. 8192 keeps attention
    /// scores of a pass at 8192 × 12 heads × 256 × 4 B ≈ 100 MB for 256-token inputs.
    pub pass_tokens: usize,
    /// Most sequences per forward pass.
    pub pass_sequences: usize,
}

impl BertEmbedderConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BertEmbedderConfig { dir: dir.into(), pass_tokens: 8192, pass_sequences: 256 }
    }
}

pub struct BertEmbedder {
    name: String,
    bert: Config,
    /// Set by the first forward pass (under `gate`).
    model: OnceLock<BertModel>,
    /// Truncates to `max_tokens`; used for embedding.
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation; used for counting and cutting.
    counter: Tokenizer,
    /// Markers the post-processor adds to one sequence (`[CLS]`, `[SEP]`).
    markers: usize,
    dimension: usize,
    max_tokens: usize,
    config: BertEmbedderConfig,
    /// One forward pass at a time: a pass already uses every core (candle's matmuls run on
    /// rayon), so concurrent requests queue here instead of thrashing the caches.
    gate: Mutex<()>,
}

fn internal(what: impl std::fmt::Display, e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("{what}: {e}"))
}

fn read_json(path: &Path) -> Result<Value, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| internal(format!("reading {}", path.display()), e))?;
    serde_json::from_str(&text).map_err(|e| internal(format!("parsing {}", path.display()), e))
}

impl BertEmbedder {
    pub fn load(config: BertEmbedderConfig) -> Result<Self, EngineError> {
        let dir = &config.dir;
        let bert: Config =
            serde_json::from_value(read_json(&dir.join("config.json"))?).map_err(|e| internal("config.json", e))?;
        check_pooling(dir)?;
        // sentence-transformers' max_seq_length (256 for MiniLM), else every position the model has.
        let max_tokens = match read_json(&dir.join("sentence_bert_config.json")) {
            Ok(v) => v["max_seq_length"].as_u64().map(|n| n as usize).unwrap_or(bert.max_position_embeddings),
            Err(_) => bert.max_position_embeddings,
        }
        .min(bert.max_position_embeddings);

        let mut counter =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| internal("tokenizer.json", e))?;
        // tokenizer.json may carry fixed padding and a truncation length of its own (MiniLM's
        // says 128); padding is done per pass here, truncation at the model's limit.
        counter.with_padding(None);
        counter.with_truncation(None).map_err(|e| internal("tokenizer", e))?;
        let mut tokenizer = counter.clone();
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| internal("tokenizer", e))?;

        let markers = counter.get_post_processor().map_or(0, |p| p.added_tokens(false));
        check_safetensors_header(&dir.join("model.safetensors"))?;
        let label = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bert".into());
        Ok(BertEmbedder {
            name: format!("candle-bert:{label}"),
            dimension: bert.hidden_size,
            bert,
            model: OnceLock::new(),
            tokenizer,
            counter,
            markers,
            max_tokens,
            config,
            gate: Mutex::new(()),
        })
    }

    /// The shortest prefix of `text` (ending between two words) that holds the first
    /// `max_tokens` tokens, so embedding it truncated reads exactly what embedding all of
    /// `text` truncated would, without tokenising the rest (see `pieces`).
    pub fn cut<'t>(&self, text: &'t str) -> Result<&'t str, EngineError> {
        let mut read = 0;
        let end = pieces::read(&self.counter, text, PIECE_BYTES, |n| {
            read += n;
            read < self.max_tokens
        })
        .map_err(|e| internal("tokenising", e))?;
        Ok(&text[..end])
    }

    /// Whether the weights are in memory (after the first embedding call).
    pub fn weights_loaded(&self) -> bool {
        self.model.get().is_some()
    }

    /// The model, loading its weights on first use. Called with `gate` held, so only one
    /// thread ever loads; a failed load is retried by the next call.
    fn model(&self) -> Result<&BertModel, EngineError> {
        if let Some(m) = self.model.get() {
            return Ok(m);
        }
        let started = std::time::Instant::now();
        let weights = self.config.dir.join("model.safetensors");
        let bytes = std::fs::read(&weights).map_err(|e| internal(format!("reading {}", weights.display()), e))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
            .map_err(|e| internal("model.safetensors", e))?;
        let model = BertModel::load(vb, &self.bert).map_err(|e| internal("loading BERT weights", e))?;
        tracing::info!(embedder = %self.name, ms = started.elapsed().as_millis() as u64, "embedding weights loaded on first use");
        Ok(self.model.get_or_init(|| model))
    }

    /// One forward pass over `ids` (already truncated), padded to the longest: mean-pooled,
    /// normalised vectors in the same order.
    fn forward(&self, model: &BertModel, ids: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let n = ids.len();
        let len = ids.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut flat = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, seq) in ids.iter().enumerate() {
            flat[row * len..row * len + seq.len()].copy_from_slice(seq);
            mask[row * len..row * len + seq.len()].fill(1);
        }
        let device = &model.device;
        let input = Tensor::from_vec(flat, (n, len), device)?;
        let mask = Tensor::from_vec(mask, (n, len), device)?;
        let types = input.zeros_like()?;
        let hidden = model.forward(&input, &types, Some(&mask))?; // (n, len, hidden)
                                                                  // Mean over the real tokens only: padding must not move the vector.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (n, hidden)
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?; // (n, 1)
        let pooled = summed.broadcast_div(&counts)?;
        let mut rows = pooled.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        rows.iter_mut().for_each(|r| l2_normalize(r));
        debug_assert_eq!(rows.first().map_or(self.dimension, Vec::len), self.dimension);
        Ok(rows)
    }
}

/// Reads the safetensors header (an 8-byte little-endian length, then JSON naming every
/// tensor) without the weights, so a truncated or foreign file fails at start-up.
fn check_safetensors_header(path: &Path) -> Result<(), EngineError> {
    use std::io::Read;
    let what = || format!("reading {}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| internal(what(), e))?;
    let file_len = file.metadata().map_err(|e| internal(what(), e))?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(|e| internal(what(), e))?;
    let len = u64::from_le_bytes(len);
    if len == 0 || len.saturating_add(8) > file_len {
        return Err(EngineError::Internal(format!("{}: not a safetensors file (header length {len})", path.display())));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).map_err(|e| internal(what(), e))?;
    let tensors: serde_json::Map<String, Value> =
        serde_json::from_slice(&header).map_err(|e| internal(format!("{}: safetensors header", path.display()), e))?;
    if !tensors.keys().any(|k| k.ends_with("word_embeddings.weight")) {
        return Err(EngineError::Internal(format!("{}: no BERT word embeddings in the file", path.display())));
    }
    Ok(())
}

/// gemd implements mean pooling only; refuse a model configured for anything else rather than
/// serve vectors that differ from what its authors intended.
fn check_pooling(dir: &Path) -> Result<(), EngineError> {
    let Ok(p) = read_json(&dir.join("1_Pooling").join("config.json")) else { return Ok(()) };
    let mean = p["pooling_mode_mean_tokens"].as_bool().unwrap_or(false);
    let others = ["pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"];
    if !mean || others.iter().any(|k| p[*k].as_bool().unwrap_or(false)) {
        return Err(EngineError::Internal(format!("{}: only mean pooling is implemented", dir.display())));
    }
    Ok(())
}

impl Embedder for BertEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn count_tokens(&self, text: &str) -> Result<usize, EngineError> {
        self.count_tokens_capped(text, usize::MAX)
    }

    fn count_tokens_capped(&self, text: &str, cap: usize) -> Result<usize, EngineError> {
        let mut total = self.markers;
        pieces::read(&self.counter, text, PIECE_BYTES, |n| {
            total += n;
            total < cap
        })
        .map_err(|e| internal("tokenising", e))?;
        Ok(total.min(cap))
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EngineError> {
        let cut = texts.iter().map(|t| self.cut(t)).collect::<Result<Vec<_>, _>>()?;
        let encodings = self.tokenizer.encode_batch(cut, true).map_err(|e| internal("tokenising", e))?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        let lengths: Vec<usize> = ids.iter().map(|s| s.len()).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let _pass = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        let model = self.model()?;
        for pass in plan::passes(&lengths, self.config.pass_tokens, self.config.pass_sequences) {
            let batch: Vec<&[u32]> = pass.iter().map(|&i| ids[i]).collect();
            let vectors = self.forward(model, &batch).map_err(|e| internal("BERT forward pass", e))?;
            for (i, v) in pass.into_iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}
