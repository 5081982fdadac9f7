//! One integration-test binary: an in-process gemd over real HTTP, the real model behind it.

mod admin;
mod answers;
mod batching;
mod embed;
mod errors;
mod generate;
mod hardening_surface;
mod hardening_transport;
mod harness;
mod models;
mod openai;
mod quota;
mod streaming;
mod tools;
mod wire_replay;
