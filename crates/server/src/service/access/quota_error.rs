//! The 429 RESOURCE_EXHAUSTED body of the real service: a message listing each exceeded
//! metric, then Help, QuotaFailure (one violation per metric, with quotaId and dimensions)
//! and RetryInfo (whole seconds; the message keeps the fraction).
//!
//! Embedding requests are limited the same way under `embed_content` metric names, and
//! `countTokens` under `count_tokens` ones (UNCONFIRMED: the wire reference only shows
//! generate bodies; these follow their pattern).

use gemd_quota::{Metric, Violation};
use gemd_wire::rpc::{self, Code, Status};
use serde_json::json;

const RATE_LIMITS_URL: &str = "https://ai.google.dev/gemini-api/docs/rate-limits";

/// Which family of quotas a request is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaSurface {
    Generate,
    Embed,
    CountTokens,
}

/// `quotaMetric` and `quotaId` of one violated limit. Paid-tier names drop the free-tier
/// marks (UNCONFIRMED: the wire reference only shows free-tier bodies).
fn names(surface: QuotaSurface, metric: Metric, paid: bool) -> (String, String) {
    let (family, verb) = match surface {
        QuotaSurface::Generate => ("generate_content", "Generate"),
        QuotaSurface::Embed => ("embed_content", "EmbedContent"),
        QuotaSurface::CountTokens => ("count_tokens", "CountTokens"),
    };
    let (unit, id) = match (surface, metric) {
        (_, Metric::RequestsPerMinute) => ("requests", format!("{verb}RequestsPerMinutePerProjectPerModel")),
        (_, Metric::RequestsPerDay) => ("requests", format!("{verb}RequestsPerDayPerProjectPerModel")),
        (QuotaSurface::Generate, Metric::InputTokensPerMinute) => {
            ("input_token_count", "GenerateContentInputTokensPerModelPerMinute".to_string())
        }
        (QuotaSurface::Embed, Metric::InputTokensPerMinute) => {
            ("input_token_count", "EmbedContentInputTokensPerModelPerMinute".to_string())
        }
        (QuotaSurface::CountTokens, Metric::InputTokensPerMinute) => {
            ("input_token_count", "CountTokensInputTokensPerModelPerMinute".to_string())
        }
    };
    let tier = if paid { "paid_tier" } else { "free_tier" };
    let id = if paid { id } else { format!("{id}-FreeTier") };
    (format!("generativelanguage.googleapis.com/{family}_{tier}_{unit}"), id)
}

fn retry_ms(violations: &[Violation]) -> i64 {
    violations.iter().map(|v| v.retry_after_ms).max().unwrap_or(1_000).max(1)
}

/// Whole seconds to wait, rounded up so that retrying after them succeeds.
pub fn retry_after_secs(violations: &[Violation]) -> u64 {
    (retry_ms(violations) as u64).div_ceil(1000)
}

pub fn message(surface: QuotaSurface, model: &str, paid: bool, violations: &[Violation]) -> String {
    let mut m = format!(
        "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: {RATE_LIMITS_URL}. To monitor your current usage, head to: https://ai.dev/rate-limit. "
    );
    for v in violations {
        let (metric, _) = names(surface, v.metric, paid);
        m.push_str(&format!("\n* Quota exceeded for metric: {metric}, limit: {}, model: {model}", v.limit));
    }
    m.push_str(&format!("\nPlease retry in {:.1}s.", retry_ms(violations) as f64 / 1000.0));
    m
}

pub fn status(surface: QuotaSurface, model: &str, paid: bool, violations: &[Violation]) -> Status {
    let list: Vec<_> = violations
        .iter()
        .map(|v| {
            let (metric, id) = names(surface, v.metric, paid);
            json!({
                "quotaMetric": metric,
                "quotaId": id,
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": v.limit.to_string(),
            })
        })
        .collect();
    Status::new(Code::ResourceExhausted, message(surface, model, paid, violations))
        .with_detail(rpc::help("Learn more about Gemini API quotas", RATE_LIMITS_URL))
        .with_detail(json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": list}))
        .with_detail(rpc::retry_info(retry_after_secs(violations)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_matches_the_real_shape() {
        let v = vec![Violation { metric: Metric::RequestsPerMinute, limit: 15, retry_after_ms: 41_200 }];
        let s = status(QuotaSurface::Generate, "gemini-2.5-flash", false, &v);
        assert_eq!(s.code, 429);
        assert_eq!(s.status, "RESOURCE_EXHAUSTED");
        assert!(s.message.contains("\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 15, model: gemini-2.5-flash\nPlease retry in 41.2s."));
        assert_eq!(s.details[1]["violations"][0]["quotaId"], "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
        assert_eq!(s.details[1]["violations"][0]["quotaValue"], "15");
        assert_eq!(
            s.details[1]["violations"][0]["quotaDimensions"],
            json!({"location": "global", "model": "gemini-2.5-flash"})
        );
        assert_eq!(s.details[2], json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"}));
    }

    #[test]
    fn embedding_and_paid_limits_have_their_own_names() {
        let v = vec![Violation { metric: Metric::InputTokensPerMinute, limit: 30_000, retry_after_ms: 1_000 }];
        let s = status(QuotaSurface::Embed, "gemini-embedding-001", false, &v);
        assert_eq!(
            s.details[1]["violations"][0]["quotaMetric"],
            "generativelanguage.googleapis.com/embed_content_free_tier_input_token_count"
        );
        assert_eq!(s.details[1]["violations"][0]["quotaId"], "EmbedContentInputTokensPerModelPerMinute-FreeTier");
        let paid = status(QuotaSurface::Generate, "gemini-2.5-pro", true, &v);
        assert_eq!(paid.details[1]["violations"][0]["quotaId"], "GenerateContentInputTokensPerModelPerMinute");
        assert_eq!(
            paid.details[1]["violations"][0]["quotaMetric"],
            "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count"
        );
    }
}
