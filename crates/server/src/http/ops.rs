//! Operational endpoints: liveness, the upstream backends' key standing and Prometheus-style
//! metrics (no key required; they reveal no request data, no secret and no address).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use gemd_engine::upstream::UpstreamProtocol;

use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/healthz/backends", get(backends))
        .route("/metrics", get(metrics))
}

/// Each upstream backend, its circuit (closed, open after failures in a row and for how long
/// more, or probing) and the standing of its keys (prefixes only, never an address or a
/// secret): which keys rest after a 429 and for how long, which were refused.
async fn backends(State(state): State<AppState>) -> impl IntoResponse {
    let mut seen = std::collections::BTreeSet::new();
    let mut list = Vec::new();
    for upstream in state.catalog.upstreams() {
        if seen.insert(upstream.name().to_string()) {
            let kind = match upstream.protocol() {
                UpstreamProtocol::Gemini => "gemini",
                UpstreamProtocol::OpenAi => "openai",
            };
            let t = upstream.transport();
            list.push(
                serde_json::json!({"name": upstream.name(), "kind": kind, "circuit": t.circuit(), "keys": t.keys()}),
            );
        }
    }
    axum::Json(serde_json::json!({"backends": list}))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for served in state.catalog.local_served() {
        let info = served.engine.info();
        if !seen.insert(info.name.clone()) {
            continue;
        }
        let m = served.engine.metrics();
        let b = &info.name;
        for (name, value) in [
            ("gemd_engine_active_sequences", m.active_sequences),
            ("gemd_engine_queued_requests", m.queued_requests),
            ("gemd_engine_decode_steps_total", m.decode_steps_total),
            ("gemd_engine_prompt_tokens_total", m.prompt_tokens_total),
            ("gemd_engine_generated_tokens_total", m.generated_tokens_total),
            ("gemd_engine_sequences_finished_total", m.sequences_finished_total),
            ("gemd_engine_sequences_cancelled_total", m.sequences_cancelled_total),
            ("gemd_engine_requests_rejected_total", m.requests_rejected_total),
            ("gemd_engine_prefix_cache_hits_total", m.prefix_cache_hits_total),
            ("gemd_engine_prefix_tokens_reused_total", m.prefix_tokens_reused_total),
            ("gemd_engine_batch_tokens_total", m.batch_tokens_total),
            ("gemd_engine_tokenizer_chunks_total", m.tokenizer_chunks_total),
            ("gemd_engine_tokenizations_stopped_total", m.tokenizations_stopped_total),
        ] {
            let _ = writeln!(out, "{name}{{backend=\"{b}\"}} {value}");
        }
        for (name, micros) in [
            ("gemd_engine_decode_seconds_total", m.decode_micros_total),
            ("gemd_engine_sample_seconds_total", m.sample_micros_total),
            ("gemd_engine_prefix_copy_seconds_total", m.prefix_copy_micros_total),
        ] {
            let _ = writeln!(out, "{name}{{backend=\"{b}\"}} {:.6}", micros as f64 / 1e6);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
