//! `gemd serve`'s settings, resolved once: every option from the command line, then the
//! environment, then the TOML file, then its default (flag > env > file > default), in
//! `Settings::resolve`. Its unit tests (tests.rs) are where that precedence is shown, for each
//! kind of option.
//!
//! - options.rs: the option groups, each both the clap group and the TOML part it reads;
//! - env.rs: the environment layer, read through a lookup so tests need no process variables;
//! - layers.rs: picking the highest layer's value and remembering which layer it was;
//! - defaults.rs: every default;
//! - error.rs: what can be wrong, naming the flag, variable or key.
//!
//! The result is plain data: turning it into gemd-server's types is app/'s job.

pub mod defaults;
pub mod env;
mod error;
mod layers;
pub mod options;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gemd_store::Tier;

pub use env::{Env, ProcessEnv};
pub use error::SettingsError;
pub use layers::Sourced;

use crate::backends::{self, Backend};
use crate::cli::ServeArgs;
use crate::config::{CatalogTables, Config, UpstreamSection};
use layers::{pick, Layers};
use options::either;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Models, keys and state (`--home`, `GEMD_HOME`).
    pub home: PathBuf,
    pub listen: Listen,
    pub limits: Limits,
    /// The default project's static keys: the command line's (or the environment's) and the
    /// file's, all accepted.
    pub api_keys: Vec<String>,
    /// `None`: the one in `<home>/admin_token`, created on first start.
    pub admin_token: Option<String>,
    pub quota: Quota,
    /// `None`: SQLite under the home.
    pub database_url: Option<String>,
    pub files: FileSettings,
    /// The llama backends, the default first, each with its sizing resolved.
    pub backends: Vec<Backend>,
    /// The upstream backends (`kind = "gemini"`), by name.
    pub upstreams: BTreeMap<String, UpstreamSection>,
    /// The file's catalog changes, embedders and quota overrides.
    pub catalog: CatalogTables,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    pub host: String,
    pub port: u16,
    /// `None`: the admin API and the console are served on the public port.
    pub admin_listen: Option<String>,
    pub drain: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub body_min_bytes_per_second: u64,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub deadline: Duration,
    pub cors: Cors,
}

/// Not yet checked: `CorsPolicy::new` (app/) says what is wrong with an origin or a header.
#[derive(Debug, Clone, PartialEq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub max_age: Duration,
}

/// The Files API's storage and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSettings {
    /// Where the bytes live: `files` under the home unless set.
    pub dir: PathBuf,
    /// An object store replicas share (`s3://...`, `file://...`); when set, `dir` is unused.
    pub storage: Option<String>,
    pub limits: gemd_server::FileLimits,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    pub redis_url: Option<String>,
    pub fail_open: bool,
    pub default_tier: Tier,
}

impl Settings {
    /// Reads the config file the command line or the environment names (`--config`,
    /// `GEMD_CONFIG`), then resolves.
    pub fn load(home: PathBuf, cli: ServeArgs, env: &dyn Env) -> Result<Settings, SettingsError> {
        let path = cli.config.config.clone().or(env::from_env(env)?.config.config);
        let file = Config::load(path.as_deref())?;
        Settings::resolve(home, cli, env, file)
    }

    /// The settings of `gemd serve`: `cli` as the command line gave them (clap's environment
    /// values dropped: env.rs), `env` for the environment, `file` the loaded TOML file.
    pub fn resolve(home: PathBuf, cli: ServeArgs, env: &dyn Env, file: Config) -> Result<Settings, SettingsError> {
        let env = env::from_env(env)?;
        let listen = Layers { flag: &cli.listen, env: &env.listen, file: &file.listen, table: None };
        let console = Layers { flag: &cli.console, env: &env.console, file: &file.console, table: None };
        let limits = Layers { flag: &cli.limits, env: &env.limits, file: &file.limits, table: None };
        let cors = Layers { flag: &cli.cors, env: &env.cors, file: &file.cors, table: Some("cors") };
        let quota = Layers { flag: &cli.quota, env: &env.quota, file: &file.quota, table: None };
        let store = Layers { flag: &cli.store, env: &env.store, file: &file.store, table: None };
        let files = Layers { flag: &cli.files, env: &env.files, file: &file.files, table: None };
        let d = defaults::limits();

        let listen = Listen {
            host: pick!(listen, host, defaults::HOST.into()).value,
            port: pick!(listen, port, defaults::PORT).value,
            // An empty value undoes a lower layer's listener.
            admin_listen: pick!(console, admin_listen).map(|s| s.value).filter(|a| !a.is_empty()),
            drain: pick!(listen, drain_seconds).map_or(defaults::DRAIN, |s| Duration::from_secs(s.value)),
        };
        let limits = Limits {
            max_body_bytes: pick!(limits, max_body_bytes, d.max_body_bytes).value,
            header_timeout: seconds(pick!(limits, header_timeout_seconds), d.header_timeout)?,
            body_timeout: seconds(pick!(limits, body_timeout_seconds), d.body_timeout)?,
            body_min_bytes_per_second: at_least_one(pick!(
                limits,
                body_min_bytes_per_second,
                d.body_min_bytes_per_second
            ))?,
            idle_timeout: seconds(pick!(limits, idle_timeout_seconds), d.idle_timeout)?,
            max_connections: at_least_one(pick!(limits, max_connections, d.max_connections))?,
            deadline: seconds(pick!(limits, deadline_seconds), d.deadline)?,
            cors: Cors {
                allow_origins: list(pick!(cors, allow_origins), defaults::CORS_ALLOW_ORIGINS),
                allow_headers: list(pick!(cors, allow_headers), defaults::CORS_ALLOW_HEADERS),
                max_age: pick!(cors, max_age_seconds).map_or(defaults::CORS_MAX_AGE, |s| Duration::from_secs(s.value)),
            },
        };
        let tier = pick!(quota, default_tier);
        let quota = Quota {
            redis_url: pick!(quota, redis_url).map(|s| s.value),
            fail_open: quota
                .pick_or(
                    "quota_fail_open",
                    |g| either(g.quota_fail_open, g.no_quota_fail_open),
                    defaults::QUOTA_FAIL_OPEN,
                )
                .value,
            default_tier: match tier {
                None => defaults::DEFAULT_TIER,
                Some(Sourced { value, origin }) => {
                    value.parse().map_err(|reason| SettingsError::Tier { origin, reason })?
                }
            },
        };
        let fd = gemd_server::FileLimits::default();
        let retention = pick!(files, file_retention_hours).map(at_least_one).transpose()?;
        let retention_ms = retention.map_or(fd.retention_ms, |h| (h as i64).saturating_mul(3_600_000));
        let files = FileSettings {
            dir: pick!(files, files_dir).map_or_else(|| home.join("files"), |s| s.value),
            storage: pick!(files, files_storage).map(|s| s.value).filter(|s| !s.is_empty()),
            limits: gemd_server::FileLimits {
                max_file_bytes: at_least_one(pick!(files, max_file_bytes, fd.max_file_bytes))?,
                max_project_bytes: at_least_one(pick!(files, max_project_file_bytes, fd.max_project_bytes))?,
                retention_ms,
                upload_session_ms: retention_ms,
            },
        };
        // Keys add up rather than override: the file's are accepted too (its `api_keys` are
        // "more static keys"). Between flag and variable the flag wins, as everywhere.
        let mut api_keys: Vec<String> = cli.keys.api_keys.or(env.keys.api_keys).unwrap_or_default();
        api_keys.retain(|k| !k.is_empty());
        api_keys.extend(file.keys.api_keys.clone().unwrap_or_default());

        // The file names the default backend's model in `[backends.default]`: backends.rs.
        let no_file = options::ModelOptions::default();
        let model = Layers { flag: &cli.model, env: &env.model, file: &no_file, table: None };
        let chat_template = match pick!(model, chat_template) {
            // A file named on the command line or in the environment is relative to the
            // working directory (the file's own are relative to the file).
            Some(Sourced { value, origin }) => Some(
                value
                    .resolved(std::path::Path::new(""))
                    .map_err(|source| SettingsError::ChatTemplate { origin, source })?,
            ),
            None => None,
        };
        let engine = cli.engine.over(&env.engine).over(&file.engine);
        let model_choice = pick!(model, model).map(|s| s.value);
        let upstreams = backends::upstreams(&file, model_choice.is_some());
        let backends = backends::backends(&file, &engine, model_choice, chat_template);
        Ok(Settings {
            home,
            listen,
            limits,
            api_keys,
            admin_token: cli.console.admin_token.or(env.console.admin_token).filter(|t| !t.is_empty()),
            quota,
            database_url: pick!(store, database_url).map(|s| s.value),
            files,
            backends,
            upstreams,
            catalog: file.catalog_tables(),
        })
    }
}

/// Seconds, at least one, else `default`.
fn seconds(v: Option<Sourced<u64>>, default: Duration) -> Result<Duration, SettingsError> {
    match v {
        Some(s) => Ok(Duration::from_secs(at_least_one(s)?)),
        None => Ok(default),
    }
}

fn at_least_one<T: PartialEq + From<u8>>(v: Sourced<T>) -> Result<T, SettingsError> {
    if v.value == T::from(0) {
        return Err(SettingsError::Zero { origin: v.origin });
    }
    Ok(v.value)
}

/// A list option, else `default`. Empty items are dropped, so `--cors-allow-origins=` (or an
/// empty variable) is the empty list.
fn list(v: Option<Sourced<Vec<String>>>, default: &[&str]) -> Vec<String> {
    match v {
        Some(s) => s.value.into_iter().filter(|i| !i.trim().is_empty()).collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}
