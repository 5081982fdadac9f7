//! The 429 RESOURCE_EXHAUSTED body of the real service: a message listing each exceeded
//! metric, then Help, QuotaFailure (one violation per metric, with quotaId and dimensions)
//! and RetryInfo (whole seconds; the message keeps the fraction).

use gemd_quota::{Metric, Violation};
use gemd_wire::rpc::{self, Code, Status};
use serde_json::json;

const RATE_LIMITS_URL: &str = "https://ai.google.dev/gemini-api/docs/rate-limits";

/// `quotaMetric` and `quotaId` of one violated limit. Paid-tier names drop the free-tier
/// marks (UNCONFIRMED: the wire reference only shows free-tier bodies).
fn names(metric: Metric, paid: bool) -> (String, String) {
    let (unit, id) = match metric {
        Metric::RequestsPerMinute => ("requests", "GenerateRequestsPerMinutePerProjectPerModel"),
        Metric::RequestsPerDay => ("requests", "GenerateRequestsPerDayPerProjectPerModel"),
        Metric::InputTokensPerMinute => ("input_token_count", "GenerateContentInputTokensPerModelPerMinute"),
    };
    if paid {
        (format!("generativelanguage.googleapis.com/generate_content_paid_tier_{unit}"), id.to_string())
    } else {
        (format!("generativelanguage.googleapis.com/generate_content_free_tier_{unit}"), format!("{id}-FreeTier"))
    }
}

fn retry_ms(violations: &[Violation]) -> i64 {
    violations.iter().map(|v| v.retry_after_ms).max().unwrap_or(1_000).max(1)
}

/// Whole seconds to wait, rounded up so that retrying after them succeeds.
pub fn retry_after_secs(violations: &[Violation]) -> u64 {
    (retry_ms(violations) as u64).div_ceil(1000)
}

pub fn message(model: &str, paid: bool, violations: &[Violation]) -> String {
    let mut m = format!(
        "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: {RATE_LIMITS_URL}. To monitor your current usage, head to: https://ai.dev/rate-limit. "
    );
    for v in violations {
        let (metric, _) = names(v.metric, paid);
        m.push_str(&format!("\n* Quota exceeded for metric: {metric}, limit: {}, model: {model}", v.limit));
    }
    m.push_str(&format!("\nPlease retry in {:.1}s.", retry_ms(violations) as f64 / 1000.0));
    m
}

pub fn status(model: &str, paid: bool, violations: &[Violation]) -> Status {
    let list: Vec<_> = violations
        .iter()
        .map(|v| {
            let (metric, id) = names(v.metric, paid);
            json!({
                "quotaMetric": metric,
                "quotaId": id,
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": v.limit.to_string(),
            })
        })
        .collect();
    Status::new(Code::ResourceExhausted, message(model, paid, violations))
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
        let s = status("gemini-2.5-flash", false, &v);
        assert_eq!(s.code, 429);
        assert_eq!(s.status, "RESOURCE_EXHAUSTED");
        assert!(s.message.contains("\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 15, model: gemini-2.5-flash\nPlease retry in 41.2s."));
        assert_eq!(s.details[1]["violations"][0]["quotaId"], "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
        assert_eq!(s.details[1]["violations"][0]["quotaValue"], "15");
        assert_eq!(s.details[1]["violations"][0]["quotaDimensions"], json!({"location": "global", "model": "gemini-2.5-flash"}));
        assert_eq!(s.details[2], json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"}));
    }
}
