//! gemd-engine: the `Engine` trait the server talks to, the chat rendering of the supported
//! model families, the in-process llama.cpp engine, and the `Embedder` trait with its
//! in-process BERT embedder (`embed`), and a reader of GGUF header metadata (`gguf`).

pub mod api;
pub mod chat;
pub mod constraint;
pub mod embed;
pub mod gguf;
pub mod llama;
pub mod text;
pub mod tool_format;

pub use api::{BackendInfo, Constraint, Engine, EngineError, EngineMetrics, Event, EventStream, Finish, PreparedPrompt, SamplingParams, TokenId};
pub use chat::{ChatPrompt, Role, Turn};
pub use embed::Embedder;
