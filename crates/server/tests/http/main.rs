//! One integration-test binary: an in-process gemd over real HTTP, the real model behind it.

mod admin;
mod answers;
mod bad_inputs;
mod batching;
mod embed;
mod errors;
mod generate;
mod hardening_small;
mod hardening_tokens;
mod hardening_surface;
mod hardening_transport;
mod harness;
mod hardening_schema;
mod models;
mod openai;
mod quota;
mod refusals;
mod streaming;
mod tools;
mod wire_replay;
