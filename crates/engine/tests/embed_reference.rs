//! The BERT embedder against sentence-transformers itself: reference vectors computed once
//! with the Python package (tests/fixtures/embeddings/make_reference.py) for a few texts
//! (empty, accented, Chinese, code, and one far past the 256-token limit, so truncation is
//! checked too) must be matched with cosine ≥ 0.999, in one batch and one by one. Needs the
//! pulled model (`./gemd.sh pull`, or GEMD_TEST_EMBEDDING_MODEL=dir).

mod common;

use std::path::PathBuf;

use gemd_engine::embed::{cosine, BertEmbedder, BertEmbedderConfig};
use gemd_engine::Embedder;
use serde_json::Value;

fn reference() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/embeddings/minilm-reference.json");
    serde_json::from_slice(&std::fs::read(path).expect("reference fixture")).expect("JSON")
}

#[test]
fn vectors_match_sentence_transformers() {
    let embedder = BertEmbedder::load(BertEmbedderConfig::new(common::embedding_model_dir())).expect("model loads");
    assert!(!embedder.weights_loaded(), "the weights wait for the first embedding call");
    let reference = reference();
    assert_eq!(embedder.dimension(), 384);
    assert_eq!(embedder.max_tokens() as u64, reference["max_seq_length"].as_u64().unwrap());
    let cases = reference["cases"].as_array().unwrap();
    let texts: Vec<String> = cases.iter().map(|c| c["text"].as_str().unwrap().to_string()).collect();
    let batch = embedder.embed(&texts).expect("embeds");
    assert!(embedder.weights_loaded());
    let mut worst = 1.0f32;
    for (case, got) in cases.iter().zip(&batch) {
        let want: Vec<f32> = case["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let text = &case["text"];
        let c = cosine(&want, got);
        assert!(c >= 0.999, "{text}: cosine {c}");
        worst = worst.min(c);
        assert!((got.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-4, "{text}: not unit length");
        assert_eq!(
            embedder.count_tokens(text.as_str().unwrap()).unwrap() as u64,
            case["tokens_untruncated"].as_u64().unwrap(),
            "{text}"
        );
        let alone = embedder.embed(std::slice::from_ref(&text.as_str().unwrap().to_string())).unwrap();
        assert!(cosine(&alone[0], got) > 0.99999, "{text}: padding in a batch moved the vector");
    }
    assert!(embedder.embed(&[]).unwrap().is_empty());
    eprintln!("lowest cosine to sentence-transformers over {} texts: {worst:.7}", cases.len());
}

/// The weights load lazily, but a broken weights file still fails at start-up.
#[test]
fn a_broken_weights_file_fails_at_load() {
    let src = common::embedding_model_dir();
    let dir = std::env::temp_dir().join(format!("gemd-broken-embedder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    for bad in [&b"short"[..], &[255u8; 64][..], &[2, 0, 0, 0, 0, 0, 0, 0, b'{', b'}'][..]] {
        std::fs::write(dir.join("model.safetensors"), bad).unwrap();
        let err = BertEmbedder::load(BertEmbedderConfig::new(&dir)).err().expect("a broken file is refused");
        assert!(err.to_string().contains("model.safetensors"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
