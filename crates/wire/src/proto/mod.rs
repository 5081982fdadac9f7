//! The proto3 JSON mapping of Gemini request bodies: descriptor tables and the normaliser.

pub mod descriptor;
pub mod messages;
pub mod normalize;

pub use normalize::{decode_base64, normalize, Violation};
