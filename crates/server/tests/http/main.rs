//! One integration-test binary: an in-process gemd over real HTTP, the real model behind it.
//! (What needs no model runs in tests/surface, in seconds.)

#[path = "../shared/mod.rs"]
mod shared;

mod answers;
mod bad_inputs;
mod batching;
mod embed;
mod errors;
mod generate;
mod hardening_schema;
mod hardening_tokens;
mod harness;
mod openai;
mod quota;
mod streaming;
mod tools;
mod wire_replay;
