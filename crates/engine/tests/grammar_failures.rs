//! A constrained generation never goes on unconstrained: a grammar that admits no output is
//! refused before decoding (`InvalidConstraint`, the request's fault), and a grammar that
//! breaks mid-output ends its sequence with `Failed`, where llama-cpp-2's own llguidance
//! sampler used to stop masking and let the model write free text. Runs the real engine on
//! the small SmolLM2 (`GEMD_TEST_SMALL_MODEL` overrides it).

use std::path::PathBuf;

use gemd_engine::llama::{LlamaConfig, LlamaEngine};
use gemd_engine::{ChatPrompt, Constraint, Engine, EngineError, Event, SamplingParams};
use serde_json::json;

fn engine() -> LlamaEngine {
    let path = std::env::var_os("GEMD_TEST_SMALL_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("GEMD_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/gemd"));
        home.join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    assert!(path.exists(), "the model is missing at {}: run `gemd pull smollm2-135m-instruct`", path.display());
    let mut config = LlamaConfig::new(path);
    config.max_sequences = 2;
    config.context_per_sequence = 2048;
    config.kv_tokens = 4096;
    LlamaEngine::load(config).expect("model loads")
}

/// Every event of one greedy generation under `constraint`.
fn events(engine: &LlamaEngine, prompt: &str, constraint: Constraint, max_output_tokens: u32) -> Vec<Event> {
    let prompt = engine.prepare(&ChatPrompt::user(prompt)).unwrap();
    let params = SamplingParams {
        temperature: Some(0.0),
        max_output_tokens,
        constraint: Some(constraint),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut stream = engine.generate(prompt, params).expect("queued");
        let mut seen = Vec::new();
        while let Some(event) = stream.recv().await {
            let last = !matches!(event, Event::Text { .. });
            seen.push(event);
            if last {
                break;
            }
        }
        seen
    })
}

fn text_of(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::Text { text, .. } = e { Some(text.as_str()) } else { None }).collect()
}

#[test]
fn a_grammar_that_breaks_mid_output_fails_the_sequence() {
    let engine = engine();
    // Ambiguous: llguidance's Earley rows grow with every `a` until its row limit (2,000
    // items) stops the parser, a few dozen letters in.
    let alternatives: Vec<String> = (2..24).map(|n| vec!["s"; n].join(" ")).collect();
    let grammar = format!("start: s\ns: {} | \"a\"\n", alternatives.join(" | "));
    let seen =
        events(&engine, "Write the letter a two hundred times, with nothing else.", Constraint::Lark(grammar), 400);
    let text = text_of(&seen);
    assert!(text.chars().all(|c| c == 'a'), "only text the grammar allows: {text:?}");
    match seen.last() {
        Some(Event::Failed(EngineError::InvalidConstraint(e))) => assert!(e.contains("grammar failed"), "{e}"),
        other => panic!("the sequence should fail, not end with {other:?} after {} letters", text.len()),
    }
    // The engine is fine afterwards.
    let after = events(&engine, "Say yes.", Constraint::Lark("start: \"yes\" | \"no\"".into()), 8);
    assert!(matches!(after.last(), Some(Event::Done { .. })), "{after:?}");
}

#[test]
fn a_grammar_without_output_is_refused_before_decoding() {
    let engine = engine();
    for schema in [
        json!({"$ref": "#"}),
        json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
    ] {
        let seen = events(&engine, "Answer in JSON.", Constraint::JsonSchema(schema.clone()), 16);
        assert!(matches!(seen.as_slice(), [Event::Failed(EngineError::InvalidConstraint(_))]), "{schema}: {seen:?}");
    }
    assert_eq!(engine.metrics().queued_requests, 0, "refused jobs leave the queue");
}

#[test]
fn a_client_that_leaves_while_its_grammar_compiles_is_forgotten() {
    let engine = engine();
    let props: serde_json::Map<String, serde_json::Value> =
        (0..1500).map(|i| (format!("p{i}"), json!({"type": "string"}))).collect();
    let schema = json!({"type": "object", "properties": props, "additionalProperties": false});
    let prompt = engine.prepare(&ChatPrompt::user("JSON please.")).unwrap();
    let params =
        SamplingParams { max_output_tokens: 8, constraint: Some(Constraint::JsonSchema(schema)), ..Default::default() };
    for _ in 0..3 {
        drop(engine.generate(prompt.clone(), params.clone()).expect("queued"));
    }
    // The engine answers the next request, and none of the three was decoded.
    let after = events(&engine, "Say yes.", Constraint::Lark("start: \"yes\"".into()), 8);
    assert!(matches!(after.last(), Some(Event::Done { .. })), "{after:?}");
    // Counters settle just after the events they count.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let counts = || {
        let m = engine.metrics();
        (m.sequences_cancelled_total, m.queued_requests, m.sequences_finished_total)
    };
    while counts() != (3, 0, 1) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(counts(), (3, 0, 1), "(cancelled, queued, finished)");
}
