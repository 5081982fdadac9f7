//! The second integration-test binary: an in-process gemd over real HTTP on scripted backends,
//! no model file anywhere, for the tests whose point is the HTTP layer and not an answer
//! (auth, routing, body limits, the error envelope, the bad-input catalog, transport,
//! quotas, the admin API). It runs in seconds, on a machine without the models.

#[path = "../shared/mod.rs"]
mod shared;

mod admin;
mod bad_inputs;
mod caches;
mod calls_cut;
mod deadline;
mod embed;
mod errors;
mod files;
mod hardening_schema;
mod hardening_small;
mod hardening_surface;
mod hardening_transport;
mod harness;
mod models;
mod openai;
mod quota;
mod refusals;
mod streaming;
mod upstream;
mod upstream_openai;
mod upstream_record;
mod upstream_routes;
