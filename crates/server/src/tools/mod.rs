//! Function calling and structured output for both API surfaces. A request's tools, tool
//! config and response format become one [`Plan`]: the declarations the prompt shows, and a
//! grammar the decoder enforces (llguidance, token by token), so every call names an allowed
//! function with arguments valid against its schema, and every JSON answer validates. The
//! generated text is read back into text or calls by [`reply`].

pub mod gemini;
mod names;
pub mod openai;
pub mod plan;
pub mod reply;
pub mod schema;

pub use plan::{Answer, Plan};
pub use reply::{CallGate, Ending};
