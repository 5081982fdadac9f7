//! Live quota use for the console's dashboard, read from the limiter that enforces the limits
//! (so replicas sharing Redis show the same numbers) and the usage ledger in the store.

use axum::extract::{Path, State};
use axum::Json;
use gemd_quota::{Limits, Usage};
use gemd_store::Project;
use serde::Serialize;
use serde_json::{json, Value};

use super::session::Admin;
use super::views::time;
use crate::http::error::ErrorResponse;
use crate::http::state::AppState;
use crate::service::error::{ApiError, Dependency};

const HOUR_MS: i64 = 3_600_000;
/// Hours in the dashboard's chart.
const CHART_HOURS: i64 = 24;
/// Refusals listed as "recent 429s".
const RECENT_REFUSALS: i64 = 20;

#[derive(Serialize)]
struct LimitsView {
    /// `null`: unlimited; `0`: not available on the project's tier.
    rpm: Option<u64>,
    tpm: Option<u64>,
    rpd: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsedView {
    requests_this_minute: u64,
    tokens_this_minute: u64,
    requests_today: u64,
}

#[derive(Serialize)]
struct ModelQuota {
    model: String,
    limits: LimitsView,
    used: UsedView,
}

async fn project(state: &AppState, id: &str) -> Result<Project, ApiError> {
    state.access.store.get_project(id).await?.ok_or_else(|| ApiError::project_not_found(id))
}

/// `GET /admin/v1/projects/{id}/quota`.
pub async fn quota(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ErrorResponse> {
    let p = project(&state, &id).await?;
    let limiter = &state.access.limiter;
    let mut models = Vec::new();
    let mut day_resets_at_ms = 0;
    for model in state.catalog.ids() {
        let Limits { rpm, tpm, rpd } = state.access.quotas.limits(p.tier, &model);
        let usage: Usage = limiter.usage(&p.id, &model).await.map_err(|e| {
            tracing::error!(error = %e, "quota backend unreachable");
            ApiError::Unavailable(Dependency::QuotaState)
        })?;
        day_resets_at_ms = usage.day_resets_at_ms;
        models.push(ModelQuota {
            model,
            limits: LimitsView { rpm, tpm, rpd },
            used: UsedView {
                requests_this_minute: usage.requests_this_minute,
                tokens_this_minute: usage.tokens_this_minute,
                requests_today: usage.requests_today,
            },
        });
    }
    let refusals: Vec<Value> = state
        .access
        .store
        .recent_refusals(&p.id, RECENT_REFUSALS)
        .await?
        .into_iter()
        .map(|r| {
            let metrics: Vec<&str> = r.metrics.split(',').filter(|m| !m.is_empty()).collect();
            json!({"time": time(r.at_ms), "model": r.model, "metrics": metrics, "retryDelaySeconds": r.retry_after_ms as f64 / 1000.0})
        })
        .collect();
    Ok(Json(json!({
        "projectId": p.id,
        "tier": p.tier.as_str(),
        "now": time(state.access.now_ms()),
        "dayResetTime": time(day_resets_at_ms),
        "models": models,
        "recentRefusals": refusals,
    })))
}

/// `GET /admin/v1/projects/{id}/usage/hourly`: the last 24 clock hours (the current one
/// last), summed over models, zeros included so the chart needs no gap handling.
pub async fn hourly(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ErrorResponse> {
    let p = project(&state, &id).await?;
    let current = state.access.now_ms().div_euclid(HOUR_MS) * HOUR_MS;
    let first = current - (CHART_HOURS - 1) * HOUR_MS;
    let mut hours: Vec<[i64; 3]> = vec![[0; 3]; CHART_HOURS as usize];
    for row in state.access.store.hourly_usage(&p.id, first).await? {
        if let Some(h) = usize::try_from((row.hour_start_ms - first) / HOUR_MS).ok().and_then(|i| hours.get_mut(i)) {
            h[0] += row.requests;
            h[1] += row.prompt_tokens;
            h[2] += row.candidate_tokens;
        }
    }
    let hours: Vec<Value> = hours
        .iter()
        .enumerate()
        .map(|(i, [requests, prompt, candidates])| {
            json!({"start": time(first + i as i64 * HOUR_MS), "requests": requests, "promptTokens": prompt, "candidateTokens": candidates})
        })
        .collect();
    Ok(Json(json!({ "hours": hours })))
}
