//! Which limits apply: per tier, per model. The free tier is the service guide's table; the
//! paid tiers follow the real service's published shape (configurable, see
//! docs/configuration.md). Models a tier does not list are unlimited on it, except that a
//! model marked paid-only gets `limit: 0` on the free tier, as the real service answers.

use std::collections::BTreeMap;

use gemd_quota::Limits;
use gemd_store::Tier;

const K: u64 = 1_000;
const M: u64 = 1_000_000;

fn lim(rpm: u64, tpm: u64, rpd: Option<u64>) -> Limits {
    Limits { rpm: Some(rpm), tpm: Some(tpm), rpd }
}

#[derive(Debug, Clone)]
pub struct QuotaTable {
    tiers: BTreeMap<Tier, BTreeMap<String, Limits>>,
    /// `countTokens`' limits for a model its tier does not list as `{model}:countTokens`.
    count_tokens: Limits,
}

/// The suffix of a `countTokens` entry's key: `[quota.free."gemini-2.5-flash:countTokens"]`.
pub const COUNT_TOKENS_SUFFIX: &str = ":countTokens";

/// `countTokens` on every model and tier unless configured: its own per-project, per-model
/// bucket of 3,000 requests a minute. UNCONFIRMED: the spec says only that countTokens is not
/// billed and is not among the free tier's quota ids; Vertex AI documents 3,000 RPM for its
/// CountTokens API. Its own bucket, so counting never uses up generate quota; a bucket at
/// all, so counting (CPU linear in up to a body of text) is not free and unbounded.
const COUNT_TOKENS_DEFAULT: Limits = Limits { rpm: Some(3_000), tpm: None, rpd: None };

impl Default for QuotaTable {
    fn default() -> Self {
        let free: &[(&str, Limits)] = &[
            ("gemini-3-flash-preview", lim(10, 4 * M, Some(1_500))),
            ("gemini-3-pro-preview", lim(0, 0, Some(0))),
            ("gemini-2.5-flash", lim(15, M, Some(1_500))),
            ("gemini-flash-latest", lim(15, M, Some(1_500))),
            ("gemini-2.5-pro", lim(2, 32 * K, Some(50))),
            ("gemini-2.5-flash-lite", lim(15, 250 * K, Some(1_000))),
            ("gemini-2.0-flash", lim(15, M, Some(1_500))),
            ("gemini-2.0-flash-lite", lim(30, M, Some(1_500))),
            ("gemma-3-27b-it", lim(30, 15 * K, Some(14_400))),
            ("gemma-3-12b-it", lim(30, 15 * K, Some(14_400))),
            ("gemma-3-4b-it", lim(30, 15 * K, Some(14_400))),
            ("gemini-embedding-001", lim(100, 30 * K, Some(1_000))),
            ("text-embedding-004", lim(1_500, M, Some(100 * K))),
        ];
        // Paid tiers: the free table scaled up, no daily cap on most models (UNCONFIRMED
        // numbers; the shape matches the published tier tables).
        let paid = |scale: u64| -> Vec<(&'static str, Limits)> {
            free.iter()
                .map(|(m, l)| {
                    let rpm = if *m == "gemini-3-pro-preview" { 50 } else { l.rpm.unwrap().max(1) * 10 };
                    (*m, lim(rpm * scale, l.tpm.unwrap().max(M) * scale, Some(10 * K * scale)))
                })
                .collect()
        };
        let mut tiers = BTreeMap::new();
        tiers.insert(Tier::Free, free.iter().map(|(m, l)| (m.to_string(), *l)).collect());
        for (tier, scale) in [(Tier::Tier1, 1), (Tier::Tier2, 5), (Tier::Tier3, 25)] {
            tiers.insert(tier, paid(scale).into_iter().map(|(m, l)| (m.to_string(), l)).collect());
        }
        QuotaTable { tiers, count_tokens: COUNT_TOKENS_DEFAULT }
    }
}

impl QuotaTable {
    /// No limits at all (for tests of other features).
    pub fn unlimited() -> Self {
        QuotaTable { tiers: BTreeMap::new(), count_tokens: Limits::default() }
    }

    /// The limits of `model` for a project on `tier` (unlimited when not listed).
    pub fn limits(&self, tier: Tier, model: &str) -> Limits {
        self.tiers.get(&tier).and_then(|t| t.get(model)).copied().unwrap_or_default()
    }

    /// The limits of `countTokens` on `model` for a project on `tier`: the entry
    /// `{model}:countTokens` if the tier has one, else the table's default for counting. Only
    /// `rpm` and `rpd` bind (a count's tokens are not known before it is counted).
    pub fn count_tokens_limits(&self, tier: Tier, model: &str) -> Limits {
        let key = format!("{model}{COUNT_TOKENS_SUFFIX}");
        self.tiers.get(&tier).and_then(|t| t.get(&key)).copied().unwrap_or(self.count_tokens)
    }

    /// Sets (or replaces) one model's limits on one tier (`{model}:countTokens` sets its
    /// `countTokens` limits).
    pub fn set(&mut self, tier: Tier, model: &str, limits: Limits) {
        self.tiers.entry(tier).or_default().insert(model.to_string(), limits);
    }

    pub fn models(&self, tier: Tier) -> Vec<String> {
        self.tiers.get(&tier).map(|t| t.keys().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_table_is_the_free_tier() {
        let t = QuotaTable::default();
        assert_eq!(
            t.limits(Tier::Free, "gemini-2.5-flash"),
            Limits { rpm: Some(15), tpm: Some(1_000_000), rpd: Some(1_500) }
        );
        assert_eq!(t.limits(Tier::Free, "gemini-2.5-pro"), Limits { rpm: Some(2), tpm: Some(32_000), rpd: Some(50) });
        assert_eq!(t.limits(Tier::Free, "gemini-3-flash-preview").rpm, Some(10));
        assert_eq!(t.limits(Tier::Free, "gemma-3-27b-it").rpd, Some(14_400));
        assert_eq!(t.limits(Tier::Free, "gemini-3-pro-preview").rpm, Some(0), "paid only");
        assert!(t.limits(Tier::Tier1, "gemini-3-pro-preview").rpm.unwrap() > 0);
        assert!(t.limits(Tier::Tier1, "gemini-2.5-flash").rpm.unwrap() > 15);
        assert_eq!(t.limits(Tier::Free, "my-own-model"), Limits::default(), "unlisted: unlimited");
    }

    #[test]
    fn count_tokens_has_its_own_limits() {
        let mut t = QuotaTable::default();
        assert_eq!(t.count_tokens_limits(Tier::Free, "gemini-2.5-flash"), COUNT_TOKENS_DEFAULT);
        assert_eq!(t.count_tokens_limits(Tier::Tier3, "my-own-model"), COUNT_TOKENS_DEFAULT);
        t.set(Tier::Free, "gemini-2.5-flash:countTokens", Limits { rpm: Some(2), tpm: None, rpd: None });
        assert_eq!(t.count_tokens_limits(Tier::Free, "gemini-2.5-flash").rpm, Some(2));
        assert_eq!(t.limits(Tier::Free, "gemini-2.5-flash").rpm, Some(15), "generate limits unchanged");
        assert_eq!(QuotaTable::unlimited().count_tokens_limits(Tier::Free, "gemini-2.5-flash"), Limits::default());
    }
}
