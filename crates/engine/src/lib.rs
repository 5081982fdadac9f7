//! gemd-engine: the `Engine` trait the server talks to, the chat formats (each model prompted
//! through its own chat template), the in-process llama.cpp engine, the `Embedder` trait with
//! its in-process BERT embedder (`embed`), a reader of GGUF header metadata (`gguf`), and the
//! clients of upstream backends, other servers that answer for an id (`upstream`).

pub mod api;
pub mod chat;
pub mod constraint;
pub mod embed;
pub mod gguf;
pub mod llama;
pub mod schema_limits;
pub mod text;
pub mod upstream;

pub use api::{
    BackendInfo, CancelFlag, Constraint, Engine, EngineError, EngineMetrics, Event, EventStream, Finish, PrepareBounds,
    PreparedPrompt, Priority, SamplingParams, TokenId,
};
pub use chat::{CallPolicy, ChatFormat, ChatPrompt, Piece, Role, ToolSpec, ToolSyntax, Turn};
pub use embed::Embedder;
