//! Every default of `gemd serve`, in one place. gemd's own are spelled here; the others are
//! the lower crates' `Default`s, referenced rather than repeated: the connection limits are
//! `ServerLimits::default()` (gemd-server), the engine sizing `LlamaConfig::new` (gemd-engine,
//! applied in backends.rs over whatever the layers leave unset). docs/configuration.md states
//! the same values; `gemd serve --help` shows the ones spelled here.

use std::path::PathBuf;
use std::time::Duration;

use gemd_server::ServerLimits;
use gemd_store::Tier;

pub const HOST: &str = "127.0.0.1";
pub const PORT: u16 = 8080;
/// How long a shutdown waits for in-flight requests: Kubernetes' default grace period.
pub const DRAIN: Duration = Duration::from_secs(30);
pub const DEFAULT_TIER: Tier = Tier::Free;
/// Refuse (503) rather than admit unmetered requests while Redis is unreachable.
pub const QUOTA_FAIL_OPEN: bool = false;

/// Google's CORS: any origin, the SDKs' headers (gemd-server's list), preflights cached for
/// an hour. These are also what `CorsPolicy::default()` holds, which does not expose them.
pub const CORS_ALLOW_ORIGINS: &[&str] = &["*"];
pub use gemd_server::DEFAULT_ALLOW_HEADERS as CORS_ALLOW_HEADERS;
pub const CORS_MAX_AGE: Duration = Duration::from_secs(3600);

/// Body size, timeouts and connection count.
pub fn limits() -> ServerLimits {
    ServerLimits::default()
}

/// `~/.cache/gemd`, or `./.cache/gemd` without a `HOME`.
pub fn home(home_var: Option<std::ffi::OsString>) -> PathBuf {
    home_var.map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".cache").join("gemd")
}

/// The default of the option whose clap id is `id`, as `--help` shows it: only those spelled
/// above and in `ServerLimits::default()` (the engine's depend on the machine and are
/// documented with it).
pub fn shown(id: &str) -> Option<String> {
    let l = limits();
    Some(match id {
        "host" => HOST.into(),
        "port" => PORT.to_string(),
        "drain_seconds" => DRAIN.as_secs().to_string(),
        "default_tier" => DEFAULT_TIER.as_str().into(),
        "quota_fail_open" => QUOTA_FAIL_OPEN.to_string(),
        "max_body_bytes" => l.max_body_bytes.to_string(),
        "header_timeout_seconds" => l.header_timeout.as_secs().to_string(),
        "body_timeout_seconds" => l.body_timeout.as_secs().to_string(),
        "body_min_bytes_per_second" => l.body_min_bytes_per_second.to_string(),
        "idle_timeout_seconds" => l.idle_timeout.as_secs().to_string(),
        "max_connections" => l.max_connections.to_string(),
        "deadline_seconds" => l.deadline.as_secs().to_string(),
        "allow_origins" => CORS_ALLOW_ORIGINS.join(","),
        "max_age_seconds" => CORS_MAX_AGE.as_secs().to_string(),
        "max_file_bytes" => gemd_server::FileLimits::default().max_file_bytes.to_string(),
        "max_project_file_bytes" => gemd_server::FileLimits::default().max_project_bytes.to_string(),
        "file_retention_hours" => (gemd_server::FileLimits::default().retention_ms / 3_600_000).to_string(),
        _ => return None,
    })
}
