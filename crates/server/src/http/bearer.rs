//! `Authorization: Bearer <credential>`, read in one place for every caller that sends one: the
//! OpenAI SDKs' API keys ([`super::auth`]) and the admin API's session or token
//! (`crate::admin::session`).

/// The credential of an `Authorization: Bearer <credential>` value (scheme case-insensitive,
/// surrounding spaces ignored), or `None` for another scheme or no credential at all.
pub fn bearer_credential(value: &str) -> Option<&str> {
    let (scheme, credential) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credential.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_credentials_are_read_case_insensitively() {
        assert_eq!(bearer_credential("Bearer AIzaK"), Some("AIzaK"));
        assert_eq!(bearer_credential("bearer  AIzaK "), Some("AIzaK"));
        assert_eq!(bearer_credential("Basic AIzaK"), None);
    }
}
