//! Function calling and structured output, whatever API surface asked. A request's tools, tool
//! config and response format become one [`Plan`] (each surface reads its own dialect into one:
//! `crate::gemini::tools`, `crate::openai::tools`): the declarations the prompt shows, and a
//! grammar the decoder enforces (llguidance, token by token), so every call names an allowed
//! function with arguments valid against its schema, and every JSON answer validates. The
//! generated text is read back into text or calls by [`reply`].

pub mod error;
pub mod names;
pub mod plan;
pub mod reply;
pub mod schema;

pub use error::ToolError;
pub use plan::{Answer, Plan, MAX_PARALLEL_CALLS};
pub use reply::{CallGate, Ending, CALLS_MESSAGE};
