//! What a text model reads of a file: text-like files (`text/*`, JSON, XML, CSV, YAML,
//! Markdown, source code) as their UTF-8 text, PDFs as the text of their pages
//! (`pdf-extract`), and nothing else: images, audio and video are for a backend that can see
//! them, and the caller refuses them as it refuses inline media.

/// Why a document that should be readable as text is not.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("its bytes are not UTF-8 text")]
    NotUtf8,
    #[error("its text could not be extracted ({0})")]
    Pdf(String),
    #[error("it has no text layer (a scanned document?)")]
    NoText,
}

/// How a file of `mime` is read as prompt text, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Utf8,
    Pdf,
}

/// Application types whose content is text (`text/*` always is).
const TEXT_APPLICATION_TYPES: &[&str] = &[
    "json",
    "ld+json",
    "xml",
    "csv",
    "x-yaml",
    "yaml",
    "markdown",
    "x-markdown",
    "javascript",
    "x-javascript",
    "typescript",
    "x-typescript",
    "x-python",
    "x-python-code",
    "x-sh",
    "x-shellscript",
    "sql",
    "x-sql",
    "toml",
    "x-toml",
    "x-tex",
    "x-latex",
    "rtf",
    "x-httpd-php",
    "x-ruby",
    "x-perl",
    "x-rust",
    "x-go",
    "x-java",
    "x-c",
    "x-c++",
    "x-csharp",
    "x-kotlin",
    "x-swift",
    "graphql",
    "x-ndjson",
    "jsonl",
    "x-jsonlines",
];

pub fn reading(mime: &str) -> Option<Reading> {
    let essence = mime.split(';').next().unwrap_or(mime).trim().to_ascii_lowercase();
    if essence.starts_with("text/") {
        return Some(Reading::Utf8);
    }
    let sub = essence.strip_prefix("application/")?;
    if sub == "pdf" {
        return Some(Reading::Pdf);
    }
    let text = TEXT_APPLICATION_TYPES.contains(&sub) || sub.ends_with("+json") || sub.ends_with("+xml");
    text.then_some(Reading::Utf8)
}

/// The prompt text of `bytes` read as `how`. PDF parsing is CPU work: call it off the async
/// workers.
pub fn text(how: Reading, bytes: Vec<u8>) -> Result<String, DocumentError> {
    match how {
        Reading::Utf8 => String::from_utf8(bytes).map_err(|_| DocumentError::NotUtf8),
        Reading::Pdf => {
            let text = pdf_extract::extract_text_from_mem(&bytes).map_err(|e| DocumentError::Pdf(e.to_string()))?;
            let text = text.trim();
            if text.is_empty() {
                return Err(DocumentError::NoText);
            }
            Ok(text.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_types_are_read_and_media_are_not() {
        for mime in ["text/plain", "text/markdown; charset=utf-8", "application/json", "application/x-python"] {
            assert_eq!(reading(mime), Some(Reading::Utf8), "{mime}");
        }
        assert_eq!(reading("application/pdf"), Some(Reading::Pdf));
        for mime in ["image/png", "audio/mp3", "video/mp4", "application/octet-stream", "application/zip"] {
            assert_eq!(reading(mime), None, "{mime}");
        }
        assert_eq!(text(Reading::Utf8, vec![0xff]), Err(DocumentError::NotUtf8));
        assert!(matches!(text(Reading::Pdf, b"not a pdf".to_vec()), Err(DocumentError::Pdf(_))));
    }
}
