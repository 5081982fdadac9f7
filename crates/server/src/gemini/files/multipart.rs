//! Multipart bodies read whole: the `multipart/related` body of `uploadType=multipart` (two
//! parts, the File's metadata (JSON) and the media) and the `multipart/form-data` of the
//! OpenAI layer's `POST files` (named fields). Both frame parts the same way: each with its
//! own headers, between `--{boundary}` lines.

use axum::body::Bytes;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultipartError {
    #[error("the multipart body does not have the two parts (metadata, then media) between its boundaries")]
    Parts,
    #[error("a part of the multipart body has no blank line after its headers")]
    Headers,
}

pub struct BodyPart {
    pub content_type: Option<String>,
    /// `Content-Disposition` (a form field's `name=` and `filename=`).
    pub disposition: Option<String>,
    pub body: Bytes,
}

impl BodyPart {
    /// A parameter of the part's `Content-Disposition` (`name`, `filename`), unquoted.
    pub fn disposition_param(&self, param: &str) -> Option<&str> {
        self.disposition.as_deref()?.split(';').map(str::trim).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case(param).then(|| v.trim().trim_matches('"'))
        })
    }
}

/// The `boundary` parameter of a `multipart/related` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    boundary_of(content_type, "multipart/related")
}

/// The `boundary` parameter of a content type whose essence is `essence`.
pub fn boundary_of(content_type: &str, essence: &str) -> Option<String> {
    let mut params = content_type.split(';').map(str::trim);
    if !params.next()?.eq_ignore_ascii_case(essence) {
        return None;
    }
    params.find_map(|p| p.strip_prefix("boundary=")).map(|b| b.trim_matches('"').to_string()).filter(|b| !b.is_empty())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

fn part(raw: &Bytes) -> Result<BodyPart, MultipartError> {
    let (split, gap) = match find(raw, b"\r\n\r\n", 0) {
        Some(i) => (i, 4),
        None => (find(raw, b"\n\n", 0).ok_or(MultipartError::Headers)?, 2),
    };
    let head = String::from_utf8_lossy(&raw[..split]);
    let header = |wanted: &str| {
        head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim().eq_ignore_ascii_case(wanted).then(|| value.trim().to_string())
        })
    };
    Ok(BodyPart {
        content_type: header("content-type"),
        disposition: header("content-disposition"),
        body: raw.slice(split + gap..),
    })
}

/// The metadata part and the media part.
pub fn split(body: &Bytes, boundary: &str) -> Result<(BodyPart, BodyPart), MultipartError> {
    let mut parts = parts(body, boundary)?.into_iter();
    match (parts.next(), parts.next()) {
        (Some(meta), Some(media)) => Ok((meta, media)),
        _ => Err(MultipartError::Parts),
    }
}

/// Every part of the body, in order (at least one).
pub fn parts(body: &Bytes, boundary: &str) -> Result<Vec<BodyPart>, MultipartError> {
    let delimiter = format!("--{boundary}");
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(i) = find(body, delimiter.as_bytes(), at) {
        starts.push(i);
        at = i + delimiter.len();
    }
    if starts.len() < 2 {
        return Err(MultipartError::Parts);
    }
    let piece = |k: usize| {
        let from = starts[k] + delimiter.len();
        let from =
            from + if body[from..].starts_with(b"\r\n") { 2 } else { usize::from(body[from..].starts_with(b"\n")) };
        let mut to = starts[k + 1];
        // The line break before a delimiter belongs to it.
        if body[..to].ends_with(b"\r\n") {
            to -= 2;
        } else if body[..to].ends_with(b"\n") {
            to -= 1;
        }
        part(&body.slice(from..to.max(from)))
    };
    (0..starts.len() - 1).map(piece).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_parts_are_read_with_their_types() {
        let body = Bytes::from_static(
            b"--xyz\r\nContent-Type: application/json\r\n\r\n{\"file\":{}}\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--xyz--\r\n",
        );
        assert_eq!(boundary("multipart/related; boundary=xyz").as_deref(), Some("xyz"));
        let (meta, media) = split(&body, "xyz").unwrap();
        assert_eq!(&meta.body[..], b"{\"file\":{}}");
        assert_eq!((media.content_type.as_deref(), &media.body[..]), (Some("text/plain"), &b"hello"[..]));
        assert_eq!(split(&Bytes::from_static(b"--xyz\r\n\r\n"), "xyz").err(), Some(MultipartError::Parts));
        assert_eq!(boundary("application/json"), None);
    }
}
