//! File ids and the names and URIs that carry them: `files/{id}` with an id of 1 to 40
//! characters of `[a-z0-9-]` not starting or ending with a dash, caller-chosen or generated;
//! a `fileData.fileUri` is read by its path (`…/v1beta/files/{id}`, any host), since clients
//! put in the `uri` gemd answered, whatever host they reached it by.

use rand::Rng;

use super::error::FileError;

const MAX_ID: usize = 40;
const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| ID_CHARS[rng.gen_range(0..ID_CHARS.len())] as char).collect()
}

/// A generated file id, as Google's are (12 characters).
pub fn new_file_id() -> String {
    random(12)
}

/// A new session's `upload_id`: unguessable, since whoever holds it may send the bytes.
pub fn new_upload_id() -> String {
    random(40)
}

pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The id a client's `name` chooses (`files/{id}` or the bare id).
pub fn chosen_id(name: &str) -> Result<String, FileError> {
    let id = name.strip_prefix("files/").unwrap_or(name);
    is_valid_id(id).then(|| id.to_string()).ok_or_else(|| FileError::InvalidName { name: name.to_string() })
}

/// The id in a path segment (`{id}` of `/v1beta/files/{id}`); an invalid one can name no file.
pub fn path_id(segment: &str) -> Result<&str, FileError> {
    is_valid_id(segment).then_some(segment).ok_or_else(|| FileError::NoAccess { id: segment.to_string() })
}

/// The id a `fileData.fileUri` names: its path must end in `/files/{id}` (after an API
/// version), or it is `files/{id}` itself.
pub fn uri_id(uri: &str, field: &str) -> Result<String, FileError> {
    let invalid = || FileError::InvalidUri { uri: uri.to_string(), field: field.to_string() };
    let path = match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).ok_or_else(invalid)?,
        None => uri,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let id = path.rsplit_once("files/").map(|(_, id)| id).ok_or_else(invalid)?;
    is_valid_id(id).then(|| id.to_string()).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_googles_rule() {
        assert!(is_valid_id("abc-123") && is_valid_id(&"a".repeat(40)));
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(41)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        assert_eq!(chosen_id("files/my-doc").unwrap(), "my-doc");
        assert!(matches!(chosen_id("files/My"), Err(FileError::InvalidName { .. })));
        assert!(is_valid_id(&new_file_id()) && is_valid_id(&new_upload_id()));
    }

    #[test]
    fn a_file_uri_is_read_by_its_path_on_any_host() {
        let f = "contents[0].parts[0].file_data.file_uri";
        assert_eq!(uri_id("https://generativelanguage.googleapis.com/v1beta/files/abc", f).unwrap(), "abc");
        assert_eq!(uri_id("http://127.0.0.1:8080/v1beta/files/abc?x=1", f).unwrap(), "abc");
        assert_eq!(uri_id("files/abc", f).unwrap(), "abc");
        for bad in ["gs://bucket/x.png", "https://youtube.com/watch?v=1", "https://h/v1beta/files/A"] {
            assert!(matches!(uri_id(bad, f), Err(FileError::InvalidUri { .. })), "{bad}");
        }
    }
}
