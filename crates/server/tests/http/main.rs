//! One integration-test binary: an in-process gemd over real HTTP, the real model behind it.

mod errors;
mod generate;
mod harness;
mod models;
mod streaming;
mod wire_replay;
