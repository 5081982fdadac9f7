//! The refusals of a message's content that no backend capability explains (those are
//! `ApiError::PartUnsupported` and `ApiError::MediaUnsupported`): content that is malformed or
//! of a kind the surface does not know. `part` is the refused part's request path
//! (`contents[i].parts[j]`, `messages[i].content[j]`); the field named is below it.

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// Inline text data (`text/*`, `application/json`) whose bytes are not UTF-8.
    #[error("inline_data of type {mime} is not valid UTF-8.")]
    InlineNotUtf8 { mime: String, part: String },
    /// An OpenAI content part whose `type` is none of the four gemd reads.
    #[error(
        "Content part type \"{kind}\" is not supported; use \"text\", \"image_url\", \"input_audio\" or \"file\"."
    )]
    PartTypeUnsupported { kind: String, part: String },
}

impl ContentError {
    /// The request field the refusal names.
    pub fn field(&self) -> String {
        match self {
            ContentError::InlineNotUtf8 { part, .. } => format!("{part}.inline_data.data"),
            ContentError::PartTypeUnsupported { part, .. } => format!("{part}.type"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ContentError;

    /// Each kind's message and field, as answered before the kinds were typed.
    #[test]
    fn messages_and_fields_are_pinned() {
        let utf8 = ContentError::InlineNotUtf8 { mime: "text/plain".into(), part: "contents[0].parts[1]".into() };
        assert_eq!(utf8.to_string(), "inline_data of type text/plain is not valid UTF-8.");
        assert_eq!(utf8.field(), "contents[0].parts[1].inline_data.data");
        let kind = ContentError::PartTypeUnsupported { kind: "video".into(), part: "messages[0].content[2]".into() };
        assert_eq!(
            kind.to_string(),
            "Content part type \"video\" is not supported; use \"text\", \"image_url\", \"input_audio\" or \"file\"."
        );
        assert_eq!(kind.field(), "messages[0].content[2].type");
    }
}
