//! Harness code both integration-test binaries compile in (each by `#[path]`): the in-process
//! server, the scripted backends, and the readers of what the wire carries. None of it loads
//! a model: tests/http adds the real ones, tests/surface runs without.

// Each binary uses its own part of this code.
#![allow(dead_code)]

pub mod bad_inputs;
pub mod embeddings;
pub mod native;
pub mod openai;
pub mod schemas;
pub mod scripted;
pub mod server;
