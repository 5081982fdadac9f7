//! gemd-wire: the wire types of the Gemini API (proto3 JSON, lenient on input, canonical on
//! output), of its OpenAI-compatible layer, and the `google.rpc.Status` error envelope. Pure
//! data: no I/O.

pub mod files;
pub mod gemini;
pub mod openai;
pub mod openai_embeddings;
pub mod openai_files;
pub mod parse;
pub mod proto;
pub mod rpc;
