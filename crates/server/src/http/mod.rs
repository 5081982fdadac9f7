//! The HTTP layer every surface shares: the server state and limits ([`state`]), the API-key
//! extractor ([`auth`], one for every surface, parameterised by its error form) and Bearer
//! parsing ([`bearer`]), the error-to-HTTP mapping ([`error`]) and JSON answers ([`json`]),
//! request bodies under their limits ([`body`]), query parameters ([`query`]), the envelope on
//! every error ([`envelope`]), CORS ([`cors`]), the operational endpoints ([`ops`]), the web
//! console's files ([`console`]), streamed answers ([`stream`]), the deadline of every call
//! ([`deadline`]), the backend header ([`backend_header`]) and the connection loop
//! ([`transport`]). It builds on the service
//! layer and knows no surface.

pub mod auth;
pub mod backend_header;
pub mod bearer;
pub mod body;
pub mod console;
pub mod cors;
pub mod deadline;
pub mod envelope;
pub mod error;
pub mod json;
pub mod ops;
pub mod query;
pub mod relay;
pub mod state;
pub mod stream;
pub mod transport;
