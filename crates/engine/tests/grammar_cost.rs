//! The per-token cost of constrained decoding: the same engine decodes long answers greedily
//! with and without a JSON Schema grammar (llguidance masking the logits before the sampler chain, llama/guided.rs), one
//! sequence at a time, interleaved, and prints the decode rates. Not a pass/fail test (timings
//! depend on the machine); run it by hand:
//!
//! ```sh
//! cargo test --release -p gemd-engine --test grammar_cost -- --ignored --nocapture
//! ```
//!
//! `GEMD_TEST_MODEL` names the GGUF (default: the pulled default, Qwen2.5-Coder-0.5B-Instruct).

use std::path::PathBuf;
use std::time::Instant;

use gemd_engine::llama::{LlamaConfig, LlamaEngine};
use gemd_engine::{ChatPrompt, Constraint, Engine, Event, SamplingParams};
use serde_json::json;

const TOKENS: u32 = 256;
const ROUNDS: usize = 3;

fn model() -> PathBuf {
    std::env::var_os("GEMD_TEST_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME"))
            .join(".cache/gemd/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    })
}

/// `(output tokens, seconds from the first token to the end, seconds to the first token)` of
/// one generation.
fn run(engine: &LlamaEngine, constraint: Option<Constraint>) -> (u32, f64, f64) {
    let chat = ChatPrompt::user("List twenty cookie recipes with their baking times.");
    let prompt = engine.prepare(&chat).unwrap();
    let params = SamplingParams { temperature: Some(0.0), max_output_tokens: TOKENS, constraint, ..Default::default() };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let mut events = engine.generate(prompt, params).unwrap();
        let mut first = None;
        loop {
            match events.recv().await.expect("an event") {
                Event::Text { .. } => {
                    first.get_or_insert_with(Instant::now);
                }
                Event::Done { output_tokens, .. } => {
                    let first = first.unwrap_or_else(Instant::now);
                    return (output_tokens, first.elapsed().as_secs_f64(), (first - started).as_secs_f64());
                }
                Event::Failed(e) => panic!("{e}"),
            }
        }
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "a measurement, not a check: run by hand with --ignored --nocapture"]
fn constrained_versus_free_decoding() {
    let mut config = LlamaConfig::new(model());
    config.max_sequences = 1;
    config.context_per_sequence = 1024;
    config.kv_tokens = 1024;
    let engine = LlamaEngine::load(config).expect("model loads");
    // Long enough to fill TOKENS: a fixed number of small objects.
    let schema = json!({"type": "array", "minItems": 30, "maxItems": 30, "items": {"type": "object", "additionalProperties": false,
        "required": ["name", "minutes", "vegan"], "properties": {"name": {"type": "string", "maxLength": 24}, "minutes": {"type": "integer", "minimum": 1, "maximum": 90}, "vegan": {"type": "boolean"}}}});
    let (_, _, cold) = run(&engine, Some(Constraint::JsonSchema(schema.clone())));
    println!(
        "first constrained request, time to first token (builds the vocabulary trie once): {:.0} ms",
        cold * 1000.0
    );
    let (mut free, mut constrained) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (n, s, free_first) = run(&engine, None);
        free.push(n as f64 / s);
        let (m, t, first) = run(&engine, Some(Constraint::JsonSchema(schema.clone())));
        constrained.push(m as f64 / t);
        println!(
            "free {n} tokens {:.1} tok/s, first token {:.0} ms | constrained {m} tokens {:.1} tok/s, first token {:.0} ms",
            n as f64 / s,
            free_first * 1000.0,
            m as f64 / t,
            first * 1000.0
        );
    }
    let (f, c) = (median(free), median(constrained));
    println!(
        "median decode: free {f:.1} tok/s, JSON-Schema constrained {c:.1} tok/s; grammar cost {:.2} ms/token ({:.0}%)",
        1000.0 / c - 1000.0 / f,
        (1.0 - c / f) * 100.0
    );
}
