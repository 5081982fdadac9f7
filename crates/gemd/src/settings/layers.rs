//! The three layers an option can come from, and which one a resolved value came from, named
//! as the user wrote it (`--port`, `GEMD_PORT`, `port` in the file), so that an error about a
//! value points at the place to fix.

use std::fmt;

use super::env::names;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(String),
    Env(String),
    /// The key in the TOML file (`[cors] max_age_seconds` for a table's key).
    File(String),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(var) => f.write_str(var),
            Origin::File(key) => write!(f, "`{key}` in the config file"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// One option group as the command line, the environment and the file each gave it.
pub struct Layers<'a, G> {
    pub flag: &'a G,
    pub env: &'a G,
    pub file: &'a G,
    /// The TOML table the group is read from (`cors`), or `None` for top-level keys.
    pub table: Option<&'static str>,
}

impl<G> Layers<'_, G> {
    /// The highest layer's value of the option `field` (its clap id and TOML key), if any
    /// layer gives one: flag, then environment, then file.
    pub fn pick<T>(&self, field: &'static str, get: impl Fn(&G) -> Option<T>) -> Option<Sourced<T>> {
        let (flag, var) = names(field);
        let key = match self.table {
            Some(t) => format!("[{t}] {field}"),
            None => field.to_string(),
        };
        [(get(self.flag), Origin::Flag(flag)), (get(self.env), Origin::Env(var)), (get(self.file), Origin::File(key))]
            .into_iter()
            .find_map(|(value, origin)| value.map(|value| Sourced { value, origin }))
    }

    /// `pick`, else `default`.
    pub fn pick_or<T>(&self, field: &'static str, get: impl Fn(&G) -> Option<T>, default: T) -> Sourced<T> {
        self.pick(field, get).unwrap_or(Sourced { value: default, origin: Origin::Default })
    }
}

/// `layers.pick(field)` for a plain field: `pick!(layers, port)`.
macro_rules! pick {
    ($layers:expr, $field:ident) => {
        $layers.pick(stringify!($field), |g| g.$field.clone())
    };
    ($layers:expr, $field:ident, $default:expr) => {
        $layers.pick_or(stringify!($field), |g| g.$field.clone(), $default)
    };
}
pub(crate) use pick;
