//! What the largest schemas within gemd's limits (`gemd_engine::schema_limits`) cost to
//! compile: time (compile and first mask, on the byte vocabulary and on a real model's) and
//! the least thread stack that compiles them (found by bisection, each try in a child
//! process, since running out of stack aborts). Not a pass/fail test; run it by hand:
//!
//! ```sh
//! cargo test --release -p gemd-engine --test schema_limits_cost -- --ignored --nocapture
//! ```
//!
//! `GEMD_TEST_SMALL_MODEL` names the GGUF whose vocabulary is used (default: SmolLM2-135M).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use gemd_engine::constraint::{check, styled_schema};
use gemd_engine::schema_limits::{MAX_DEPTH, MAX_NODES, MAX_OBJECT_PROPERTIES, MAX_PROPERTIES};
use gemd_engine::Constraint;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde_json::{json, Map, Value};

fn strings(n: usize, prefix: &str) -> Map<String, Value> {
    (0..n).map(|i| (format!("{prefix}{i}"), json!({"type": "string", "description": "a field"}))).collect()
}

/// The largest admitted schemas of each shape, by name.
fn shapes() -> Vec<(&'static str, Value)> {
    let objects = MAX_PROPERTIES / MAX_OBJECT_PROPERTIES;
    let each = MAX_PROPERTIES / objects - 1;
    let inner: Map<String, Value> =
        (0..objects).map(|i| (format!("o{i}"), json!({"type": "object", "properties": strings(each, "p")}))).collect();
    let wide = json!({"type": "object", "properties": strings(MAX_OBJECT_PROPERTIES, "p"), "required": (0..MAX_OBJECT_PROPERTIES).map(|i| format!("p{i}")).collect::<Vec<_>>()});
    // Objects nested as deep as the limit allows (two JSON levels each), with a sibling apiece.
    let deep = (0..(MAX_DEPTH - 1) / 2).fold(
        json!({"type": "string"}),
        |inner, _| json!({"type": "object", "properties": {"next": inner, "side": {"type": "integer"}}}),
    );
    let values: Vec<String> = (0..MAX_NODES - 10).map(|i| format!("value {i}")).collect();
    vec![
        ("2,000 properties in 5 objects", json!({"type": "object", "properties": inner})),
        ("one object of 400 required properties", wide),
        ("objects nested to depth 64", deep),
        ("an enum of 19,990 strings", json!({"type": "string", "enum": values})),
        // Refused by llguidance's lexer fuel, not by gemd's limits: what the refusal costs.
        (
            "anyOf of 2,000 one-key objects",
            json!({"anyOf": (0..2000).map(|i| json!({"type": "object", "properties": {format!("k{i}"): {"type": "integer"}}})).collect::<Vec<_>>()}),
        ),
        (
            "2,000 numbers in 5 objects",
            json!({"type": "object", "properties": (0..5).map(|o| (format!("o{o}"), json!({"type": "object", "properties": (0..399).map(|i| (format!("n{i}"), json!({"type": "number"}))).collect::<Map<_, _>>()}))).collect::<Map<_, _>>()}),
        ),
    ]
}

fn shape(name: &str) -> Value {
    shapes().into_iter().find(|(n, _)| *n == name).expect("a shape").1
}

/// In a child: compile the shape named by `COST_SHAPE` on a thread with `COST_STACK` bytes.
#[test]
#[ignore = "run by compile_cost_of_the_largest_admitted_schemas"]
fn child_compile() {
    let (Ok(name), Ok(stack)) = (std::env::var("COST_SHAPE"), std::env::var("COST_STACK")) else { return };
    let schema = shape(&name);
    let stack: usize = stack.parse().unwrap();
    // `check` compiles on its own big-stack thread; bypass it to control the stack.
    // Compiled or refused: either way it ran within the stack.
    let _ = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || compile_with_bytes(&schema))
        .unwrap()
        .join()
        .unwrap();
}

/// Compiles and computes the first mask over the byte vocabulary, as `check` does.
fn compile_with_bytes(schema: &Value) -> Result<(), String> {
    let env = llguidance::toktrie::ApproximateTokEnv::single_byte_env();
    first_mask(&ParserFactory::new_simple(&env).map_err(|e| e.to_string())?, schema)
}

fn first_mask(factory: &ParserFactory, schema: &Value) -> Result<(), String> {
    let parser =
        factory.create_parser(TopLevelGrammar::from_json_schema(styled_schema(schema))).map_err(|e| e.to_string())?;
    Matcher::new(Ok(parser)).compute_mask().map(drop).map_err(|e| e.to_string())
}

/// Whether the shape compiles (or is refused) within `stack` bytes of stack (in a child process).
fn fits(name: &str, stack: usize) -> bool {
    let exe = std::env::current_exe().unwrap();
    let status = Command::new(exe)
        .args(["--exact", "child_compile", "--ignored", "--quiet"])
        .env("COST_SHAPE", name)
        .env("COST_STACK", stack.to_string())
        .output()
        .unwrap()
        .status;
    status.success()
}

fn least_stack(name: &str) -> usize {
    let (mut lo, mut hi) = (32usize << 10, 64usize << 20);
    while hi - lo > (16 << 10) {
        let mid = (lo + hi) / 2;
        if fits(name, mid) {
            hi = mid
        } else {
            lo = mid
        }
    }
    hi
}

#[test]
#[ignore = "a measurement, not a check: run by hand with --ignored --nocapture"]
fn compile_cost_of_the_largest_admitted_schemas() {
    let path = std::env::var_os("GEMD_TEST_SMALL_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/gemd/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    let backend = LlamaBackend::init().unwrap();
    let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default()).unwrap();
    let started = Instant::now();
    let mut factory = ParserFactory::new_simple(&LlamaSampler::llguidance_tok_env(&model)).unwrap();
    factory.quiet();
    println!(
        "token trie of {} ({} tokens): {:.0} ms",
        path.display(),
        model.n_vocab(),
        started.elapsed().as_secs_f64() * 1e3
    );
    for (name, schema) in shapes() {
        assert!(gemd_engine::schema_limits::check(&schema).is_ok(), "{name} is admitted");
        let started = Instant::now();
        let bytes = check(&Constraint::JsonSchema(schema.clone()));
        let byte_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let vocab = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn_scoped(s, || first_mask(&factory, &schema))
                .unwrap()
                .join()
                .unwrap()
        });
        let vocab_ms = started.elapsed().as_secs_f64() * 1e3;
        println!(
            "{name} ({} KB): byte vocabulary {byte_ms:.0} ms ({}), model vocabulary {vocab_ms:.0} ms ({}), least stack {} KiB",
            schema.to_string().len() / 1000,
            if bytes.is_ok() { "ok" } else { "refused" },
            vocab.map(|_| "ok".to_string()).unwrap_or_else(|e| e.lines().next().unwrap_or_default().to_string()),
            least_stack(name) >> 10
        );
    }
}
