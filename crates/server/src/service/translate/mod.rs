//! The one table between the Gemini API and OpenAI chat completions, both ways, so gemd's
//! OpenAI layer (OpenAI in, gemd's engine behind) and an OpenAI-compatible upstream (Gemini
//! in, an OpenAI server behind) cannot drift apart: finish reasons ([`finish`]), sampling
//! fields ([`sampling`]), tools, tool choice and answer formats ([`plan`], through the
//! surface-neutral `Plan`), conversation content and call arguments ([`messages`]). For the
//! upstream direction, [`request`] assembles a chat body from a Gemini request and [`answer`]
//! reads the upstream's completion or stream back as Gemini responses; [`embeddings`] writes
//! texts to embed in either dialect and reads the vectors back; [`error`] holds what can go
//! wrong on the way.

pub mod answer;
pub mod embeddings;
pub mod error;
pub mod finish;
pub mod messages;
pub mod plan;
pub mod request;
pub mod sampling;

pub use error::TranslateError;
