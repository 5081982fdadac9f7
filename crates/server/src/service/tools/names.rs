//! The rules a declared function's name must follow, shared by both API surfaces.

use crate::service::error::ApiError;

const MAX_NAME: usize = 64;

/// Checks `name` (at request path `at`): letters, digits, `_ . : -`, at most 64 characters,
/// starting with a letter or an underscore.
pub fn check_function_name(name: &str, at: &str) -> Result<(), ApiError> {
    let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let charset = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if starts_well && charset && name.len() <= MAX_NAME {
        return Ok(());
    }
    Err(ApiError::invalid(
        format!(
            "Invalid function name \"{name}\". Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of {MAX_NAME}."
        ),
        Some(at.to_string()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["get_weather", "_x", "a.b-c:d", &"a".repeat(64)] {
            assert!(check_function_name(ok, "n").is_ok(), "{ok}");
        }
        for bad in ["", "1abc", "-x", "has space", "é", &"a".repeat(65)] {
            assert!(check_function_name(bad, "n").is_err(), "{bad}");
        }
    }
}
