//! Plain text tokenised in bounded pieces gives the ids of one whole llama.cpp call, on the
//! real vocabularies (Qwen2.5 and SmolLM2 byte-level BPE, Gemma 3 SentencePiece), for text
//! with newlines, CJK, emoji, code and runs of spaces; and a prompt stops being tokenised as
//! soon as it is known to be too long, or once its caller cancelled.

mod common;

use std::path::PathBuf;

use common::Rng;

use gemd_engine::llama::chunked::{TextSplitter, Tokenizing, CHUNK_BYTES};
use gemd_engine::llama::{backend, LlamaConfig, LlamaEngine};
use gemd_engine::{ChatPrompt, Engine, EngineError, PrepareBounds};
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

fn pulled(name: &str) -> PathBuf {
    let home = std::env::var_os("GEMD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/gemd"));
    let p = home.join("models").join(name);
    assert!(p.exists(), "{} is missing: run `./gemd.sh pull` and `gemd pull smollm2-135m-instruct`", p.display());
    p
}

const QWEN: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const GEMMA: &str = "gemma-3-270m-q4_k_m.gguf";

fn model(file: &str) -> LlamaModel {
    LlamaModel::load_from_file(backend().unwrap(), pulled(file), &LlamaModelParams::default()).unwrap()
}

/// Fragments random texts are made of: words, every kind of whitespace run, punctuation that
/// absorbs newlines in some regexes, contractions, digits, CJK, Hangul, emoji, combining
/// marks, code, and user-defined tokens of the vocabularies (`<tool_call>`, tags).
const FRAGMENTS: &[&str] = &[
    "hello",
    "World",
    " the",
    " quick",
    "brown",
    "\n",
    "\n\n",
    "\n\n\n",
    " ",
    "  ",
    "   ",
    "\t",
    " \n",
    "\n ",
    "\r\n",
    ".",
    "!\n",
    ",",
    "'s",
    "'re",
    "don't",
    "123",
    " 42",
    "x1",
    "你好",
    "世界",
    "。",
    "안녕",
    "하세요",
    "😀",
    "👍🏽",
    "e\u{301}",
    "ü",
    "fn main() {",
    "}",
    "    let x = 1;",
    "<tool_call>",
    "</tool_call>",
    "<b>",
    "</b>",
    "\u{a0}",
    "…",
    "—",
    "ß",
    "Ωμέγα",
    "a",
    "b",
    "\n\n\n\n\n\n",
    "#",
    "##",
    "==",
    "->",
    "=>",
    "...",
];

fn random_text(rng: &mut Rng, parts: usize) -> String {
    (0..parts).map(|_| FRAGMENTS[rng.next() % FRAGMENTS.len()]).collect()
}

/// Texts every family must cut exactly: the shapes and real-looking prose and code.
fn fixed_texts() -> Vec<String> {
    vec![
        "a\n".repeat(3000),
        ["part"; 2000].join("\n"),
        "word ".repeat(2000),
        "The quick brown fox jumps over the lazy dog.\nIt's 12:30 — time for lunch!\n\n    indented line\n\tтабуляция\n".repeat(60),
        "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}\n".repeat(80),
        "你好，世界。这是一个测试。\n안녕하세요 세계\n日本語のテキスト\n".repeat(80),
        "emoji 😀👍🏽 and flags 🇫🇷\nmore  spaces   here    \n".repeat(100),
    ]
}

fn whole(model: &LlamaModel, text: &str) -> Vec<i32> {
    model.vocab().tokenize(text.as_bytes(), false, false).into_iter().map(|t| t.0).collect()
}

/// `text` in pieces of about `chunk_bytes`: the ids and the number of pieces.
fn chunked(model: &LlamaModel, splitter: &TextSplitter, text: &str) -> (Vec<i32>, u64) {
    let bounds = PrepareBounds::default();
    let mut run = Tokenizing::new(model, splitter, &bounds);
    run.push_text(text).unwrap();
    let chunks = run.chunks;
    (run.finish().unwrap(), chunks)
}

#[test]
fn pieces_tokenise_exactly_as_the_whole_text() {
    for file in [QWEN, SMOLLM2, GEMMA] {
        let model = model(file);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for chunk_bytes in [1, 5, 64, CHUNK_BYTES] {
            let splitter = TextSplitter::of(&model, chunk_bytes);
            for text in fixed_texts() {
                let (ids, chunks) = chunked(&model, &splitter, &text);
                assert_eq!(
                    ids,
                    whole(&model, &text),
                    "{file}, pieces of {chunk_bytes}: {:?}",
                    &text[..80.min(text.len())]
                );
                // Every fixed text has cuts (BPE: a letter or digit before a newline, or before
                // a space and a letter; Gemma: before a newline), so none went whole.
                let cuttable = file != GEMMA || text.contains('\n');
                assert!(
                    !cuttable || chunks as usize >= text.len() / (chunk_bytes.max(64) * 8),
                    "{file}: {chunks} pieces of {chunk_bytes} for {} bytes",
                    text.len()
                );
            }
            for round in 0..60 {
                let text = random_text(&mut rng, 20 + round * 7);
                let (ids, _) = chunked(&model, &splitter, &text);
                assert_eq!(ids, whole(&model, &text), "{file}, pieces of {chunk_bytes}: {text:?}");
            }
        }
    }
}

#[test]
fn the_newline_heavy_text_is_cut_for_every_family() {
    // The input: on Gemma every newline is a user-defined token, the quadratic case.
    let text = "a\n".repeat(50_000);
    for file in [QWEN, SMOLLM2, GEMMA] {
        let model = model(file);
        let splitter = TextSplitter::of(&model, CHUNK_BYTES);
        let (ids, chunks) = chunked(&model, &splitter, &text);
        assert!(
            chunks >= (text.len() / CHUNK_BYTES) as u64 && chunks <= (text.len() / CHUNK_BYTES + 1) as u64,
            "{file}: {chunks} pieces"
        );
        // Each "a\n" is two tokens in all three vocabularies.
        assert_eq!(ids.len(), 100_000, "{file}");
    }
}

fn engine() -> LlamaEngine {
    let mut c = LlamaConfig::new(pulled(QWEN));
    c.context_per_sequence = 1024;
    c.kv_tokens = 1024;
    c.max_sequences = 1;
    c.prefix_cache_entries = 0;
    LlamaEngine::load(c).expect("the model loads")
}

#[test]
fn tokenising_stops_past_the_limit_and_when_cancelled() {
    let engine = engine();
    let long = ChatPrompt::user("a\n".repeat(50_000));
    let chunks = |e: &LlamaEngine| e.metrics().tokenizer_chunks_total;

    // Past the limit: the first piece (≈1,000 tokens) already passes 100, so the rest
    // (≈100 pieces) is never read, and the refusal says the count is a lower bound.
    let before = chunks(&engine);
    let err =
        engine.prepare_bounded(&long, &PrepareBounds { max_tokens: Some(100), ..Default::default() }).unwrap_err();
    let read = chunks(&engine) - before;
    assert!(matches!(err, EngineError::PromptTooLongAtLeast { tokens, limit: 100 } if tokens > 100), "{err:?}");
    assert!(err.to_string().contains("at least"), "{err}");
    assert!(read <= 2, "{read} pieces read for a prompt refused after the first");
    assert_eq!(engine.metrics().tokenizations_stopped_total, 1);

    // Unbounded, the same prompt is read to the end: that is what stopping saved.
    let before = chunks(&engine);
    let all = engine.prepare(&long).unwrap();
    assert!(chunks(&engine) - before >= 97, "{} pieces", chunks(&engine) - before);
    assert!(all.len() > 100_000);

    // The limit met exactly at the end is an exact count.
    let exact = engine.prepare(&ChatPrompt::user("hi")).unwrap().len();
    let err = engine
        .prepare_bounded(&ChatPrompt::user("hi"), &PrepareBounds { max_tokens: Some(exact - 1), ..Default::default() })
        .unwrap_err();
    assert_eq!(err, EngineError::PromptTooLong { tokens: exact, limit: exact - 1 });

    // Cancelled before the call: nothing is read.
    let bounds = PrepareBounds::default();
    bounds.cancel.cancel();
    let before = chunks(&engine);
    assert_eq!(engine.prepare_bounded(&long, &bounds).unwrap_err(), EngineError::Cancelled);
    assert!(chunks(&engine) - before <= 1);
    assert_eq!(engine.metrics().tokenizations_stopped_total, 2);
}

#[test]
fn a_text_too_long_by_its_length_alone_is_refused_unread() {
    let engine = engine();
    // No token of Qwen's vocabulary stands for more than a few hundred bytes, so 4 MB of
    // letters cannot fit 1,000 tokens: refused before a single piece is read.
    let huge = ChatPrompt::user("x".repeat(4 << 20));
    let before = engine.metrics().tokenizer_chunks_total;
    let err =
        engine.prepare_bounded(&huge, &PrepareBounds { max_tokens: Some(1000), ..Default::default() }).unwrap_err();
    assert!(matches!(err, EngineError::PromptTooLongAtLeast { tokens, limit: 1000 } if tokens > 1000), "{err:?}");
    assert_eq!(engine.metrics().tokenizer_chunks_total, before);
}
