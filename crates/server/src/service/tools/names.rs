//! The rules a declared function's name must follow, shared by both API surfaces, and the
//! refusal of a name that breaks them.

const MAX_NAME: usize = 64;

/// A declared function's name that breaks the rules; `field` is where the request holds it
/// (each surface nests declarations differently).
#[derive(Debug, thiserror::Error)]
#[error("Invalid function name \"{name}\". Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of {MAX_NAME}.")]
pub struct InvalidFunctionName {
    pub name: String,
    pub field: String,
}

/// Checks `name` (at request path `at`): letters, digits, `_ . : -`, at most 64 characters,
/// starting with a letter or an underscore.
pub fn check_function_name(name: &str, at: &str) -> Result<(), InvalidFunctionName> {
    let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let charset = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if starts_well && charset && name.len() <= MAX_NAME {
        return Ok(());
    }
    Err(InvalidFunctionName { name: name.to_string(), field: at.to_string() })
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
