//! The refusals of a `models.list` page request. The words are the real service's.

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A `page_size` that is not an int32 (`value`: as sent).
    #[error("Invalid value at 'page_size' (TYPE_INT32), \"{value}\"")]
    PageSize { value: String },
    /// A `page_token` that names no model of this catalog.
    #[error("Invalid page token.")]
    PageToken,
}

impl PageError {
    /// The query parameter the refusal names.
    pub fn field(&self) -> &'static str {
        match self {
            PageError::PageSize { .. } => "page_size",
            PageError::PageToken => "page_token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PageError;

    #[test]
    fn messages_and_fields_are_pinned() {
        let size = PageError::PageSize { value: "ten".into() };
        assert_eq!(
            (size.to_string().as_str(), size.field()),
            ("Invalid value at 'page_size' (TYPE_INT32), \"ten\"", "page_size")
        );
        assert_eq!(
            (PageError::PageToken.to_string().as_str(), PageError::PageToken.field()),
            ("Invalid page token.", "page_token")
        );
    }
}
