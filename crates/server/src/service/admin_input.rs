//! The refusals of an admin call's body that its JSON shape does not already refuse (a display
//! name too long, a tier that does not exist).

#[derive(Debug, thiserror::Error)]
pub enum AdminInputError {
    /// A display name (in `field`) longer than `max` characters.
    #[error("{field} must be at most {max} characters.")]
    NameTooLong { field: &'static str, max: usize },
    /// A tier name the store does not know. The message is `gemd_store::Tier`'s own `FromStr`
    /// error, forwarded: the store owns the list of tiers it names.
    #[error("{0}")]
    UnknownTier(String),
}

impl AdminInputError {
    /// The body field the refusal names.
    pub fn field(&self) -> &'static str {
        match self {
            AdminInputError::NameTooLong { field, .. } => field,
            AdminInputError::UnknownTier(_) => "tier",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AdminInputError;

    #[test]
    fn messages_and_fields_are_pinned() {
        let long = AdminInputError::NameTooLong { field: "displayName", max: 100 };
        assert_eq!(
            (long.to_string().as_str(), long.field()),
            ("displayName must be at most 100 characters.", "displayName")
        );
        let tier = "gold".parse::<gemd_store::Tier>().map_err(AdminInputError::UnknownTier).unwrap_err();
        assert_eq!(
            (tier.to_string().as_str(), tier.field()),
            ("unknown tier \"gold\" (free, tier1, tier2, tier3)", "tier")
        );
    }
}
