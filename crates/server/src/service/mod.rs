//! The service layer: what gemd does, with no HTTP in it (no axum, no HTTP types). The model
//! catalog and the backends behind it ([`catalog`]), who is calling and how much they may
//! ([`access`], its quota table and the RAII [`access::Ticket`]), the console's admin
//! credential ([`admin_auth`]) and the checks of admin bodies ([`admin_input`]), generation
//! ([`generation`], from a surface-neutral [`generation::GenerateRequest`] to a validated one
//! to text or a stream of frames), embedding ([`embedding`]), function calling and structured
//! output ([`tools`]), the Files API ([`files`]: uploads, records and bytes, `fileData` parts),
//! and the one error type with its `google.rpc` code table ([`error`]).
//! Modules here import only each other and the lower crates; the http layer and the surfaces
//! build on them.

pub mod access;
pub mod admin_auth;
pub mod admin_input;
pub mod caches;
pub mod catalog;
pub mod embedding;
pub mod error;
pub mod estimate;
pub mod files;
pub mod generation;
pub mod routing;
pub mod tools;
pub mod translate;
pub mod version;
