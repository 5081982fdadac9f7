//! The option groups of `gemd serve`. Each group is ONE struct that is both a `clap::Args`
//! group (flattened into `serve`, every field an `Option` with its `env =`) and the part of the
//! TOML file it reads: top-level keys (flattened into `Config`) or a table (`[engine]`,
//! `[cors]`). A field's flag, environment variable and TOML key are therefore declared once,
//! here, and mean the same thing in all three; `Settings::resolve` layers them.
//!
//! A boolean is an `Option<bool>` taking `--x`, `--x=true|false` or `--no-x` (a separate flag,
//! the last one given wins), so every layer can say either value and undo the one below.
//! Defaults are not spelled here (they live in defaults.rs); `gemd serve --help` shows them.

use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use crate::chat_template::ChatTemplate;
use crate::model_ref::ModelRef;

/// Where the public API listens, and how a shutdown ends.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "Listening")]
pub struct ListenOptions {
    /// Address to bind.
    #[arg(long, env = "GEMD_HOST")]
    pub host: Option<String>,
    /// Port to bind (0 picks a free port; the chosen one is logged).
    #[arg(long, env = "GEMD_PORT")]
    pub port: Option<u16>,
    /// Seconds a SIGTERM/SIGINT waits for in-flight requests before cancelling them (a
    /// second signal cancels them at once).
    #[arg(long, env = "GEMD_DRAIN_SECONDS")]
    pub drain_seconds: Option<u64>,
}

/// What one connection may cost before any model runs.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "Connection limits")]
pub struct LimitOptions {
    /// Largest request body in bytes; a larger one is answered 413.
    #[arg(long, env = "GEMD_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds for a request's headers to arrive, from the connection's start or the
    /// request's first byte.
    #[arg(long, env = "GEMD_HEADER_TIMEOUT_SECONDS")]
    pub header_timeout_seconds: Option<u64>,
    /// Seconds for a request's whole body to arrive, plus one per
    /// `--body-min-bytes-per-second` bytes received.
    #[arg(long, env = "GEMD_BODY_TIMEOUT_SECONDS")]
    pub body_timeout_seconds: Option<u64>,
    /// See `--body-timeout-seconds`.
    #[arg(long, env = "GEMD_BODY_MIN_BYTES_PER_SECOND")]
    pub body_min_bytes_per_second: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, env = "GEMD_IDLE_TIMEOUT_SECONDS")]
    pub idle_timeout_seconds: Option<u64>,
    /// Connections served at once per listener; more wait to be accepted.
    #[arg(long, env = "GEMD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a call to the public API may take in all, streams included (504
    /// DEADLINE_EXCEEDED past it); a client's X-Server-Timeout can shorten it, never lengthen it.
    #[arg(long, env = "GEMD_DEADLINE_SECONDS")]
    pub deadline_seconds: Option<u64>,
}

/// `[cors]`: which browser origins may call the public API. Absent keys keep Google's
/// behaviour (any origin, the SDKs' headers).
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
#[command(next_help_heading = "CORS (the [cors] table)")]
pub struct CorsOptions {
    /// Exact origins (`https://app.example`), `*` for any; comma-separated; empty turns CORS
    /// off.
    #[arg(long = "cors-allow-origins", env = "GEMD_CORS_ALLOW_ORIGINS", value_delimiter = ',')]
    pub allow_origins: Option<Vec<String>>,
    /// Request headers a page may send (replaces the default list); comma-separated.
    #[arg(long = "cors-allow-headers", env = "GEMD_CORS_ALLOW_HEADERS", value_delimiter = ',')]
    pub allow_headers: Option<Vec<String>>,
    /// Seconds a browser may cache a preflight answer.
    #[arg(long = "cors-max-age-seconds", env = "GEMD_CORS_MAX_AGE_SECONDS")]
    pub max_age_seconds: Option<u64>,
}

/// `[engine]`: the sizing of every llama.cpp backend. The flags set the `[engine]` table's
/// values; a `[backends.NAME.engine]` table still overrides them for its own backend.
#[derive(Debug, Default, Clone, PartialEq, Args, Deserialize)]
#[serde(deny_unknown_fields)]
#[command(next_help_heading = "Engine sizing (the [engine] table)")]
pub struct EngineOptions {
    /// CPU threads for decoding.
    #[arg(long, env = "GEMD_THREADS")]
    pub threads: Option<i32>,
    /// Sequences decoded together in one batch.
    #[arg(long, env = "GEMD_MAX_SEQUENCES")]
    pub max_sequences: Option<u32>,
    /// Prompt + output tokens one request may use (capped by the model's training context).
    #[arg(long, env = "GEMD_CONTEXT_PER_SEQUENCE")]
    pub context_per_sequence: Option<u32>,
    /// The shared KV pool in tokens; a request reserves prompt + max output tokens from it.
    #[arg(long, env = "GEMD_KV_TOKENS")]
    pub kv_tokens: Option<u32>,
    /// Tokens per llama_decode call (decoding sequences + a prefill chunk).
    #[arg(long, env = "GEMD_BATCH_SIZE")]
    pub batch_size: Option<u32>,
    /// Requests waiting for a slot; beyond this they are answered 503 UNAVAILABLE.
    #[arg(long, env = "GEMD_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,
    /// Prompt tokens prefilled per step while other sequences decode.
    #[arg(long, env = "GEMD_PREFILL_CHUNK")]
    pub prefill_chunk: Option<u32>,
    /// Finished sequences kept for prompt-prefix reuse (0 turns the prefix cache off).
    #[arg(long, env = "GEMD_PREFIX_CACHE_ENTRIES")]
    pub prefix_cache_entries: Option<u32>,
    /// KV tokens the prefix cache may hold, on top of `--kv-tokens`.
    #[arg(long, env = "GEMD_PREFIX_CACHE_TOKENS")]
    pub prefix_cache_tokens: Option<u32>,
    /// Batch-invariant kernels: the same greedy answer alone and in any batch (Q8_0 KV
    /// cache; docs/configuration.md).
    #[arg(long, env = "GEMD_BATCH_INVARIANT", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub batch_invariant: Option<bool>,
    /// llama.cpp's own kernel choices (the same as `--batch-invariant=false`).
    #[arg(long, overrides_with = "batch_invariant")]
    #[serde(skip)]
    pub no_batch_invariant: bool,
}

/// Keys: the static API keys of the default project.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "API keys")]
pub struct KeyOptions {
    /// API key to accept (repeatable; env: comma-separated). The file's `api_keys` are
    /// accepted too.
    #[arg(long = "api-key", env = "GEMD_API_KEYS", value_delimiter = ',', hide_env_values = true)]
    pub api_keys: Option<Vec<String>>,
}

/// The console and the admin API.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "Console and admin API")]
pub struct ConsoleOptions {
    /// Serve the admin API and the console on this `host:port` only, apart from the public
    /// port (empty: on the public port). Keep it on loopback or a private network.
    #[arg(long, env = "GEMD_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// The admin token for the console and the admin API (a secret of its own, never an API
    /// key). Default: the one in `<home>/admin_token`, created on first start.
    // Not a file key: the TOML file is often shared or committed, and the token is the
    // whole admin API.
    #[arg(long, env = "GEMD_ADMIN_TOKEN", hide_env_values = true)]
    #[serde(skip)]
    pub admin_token: Option<String>,
}

/// Quotas: where their counters live and what happens when that place is unreachable.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "Quotas")]
pub struct QuotaOptions {
    /// Share quota state with other replicas through Redis (`redis://host:port/`).
    #[arg(long, env = "GEMD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Admit requests when Redis is unreachable, instead of refusing them with 503
    /// UNAVAILABLE.
    #[arg(long, env = "GEMD_QUOTA_FAIL_OPEN", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub quota_fail_open: Option<bool>,
    /// Refuse requests when Redis is unreachable (the same as `--quota-fail-open=false`).
    #[arg(long, overrides_with = "quota_fail_open")]
    #[serde(skip)]
    pub no_quota_fail_open: bool,
    /// Tier of the default project when it is created (free, tier1, tier2, tier3).
    #[arg(long, env = "GEMD_DEFAULT_TIER")]
    pub default_tier: Option<String>,
}

/// Where projects, keys and the usage ledger live (also taken by `projects`, `keys`, `usage`).
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "Store")]
pub struct StoreOptions {
    /// `postgres://…` to share the store between replicas; default: SQLite under the home.
    #[arg(long, env = "GEMD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// The Files API: where uploaded files' bytes live and how much a project may keep.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[command(next_help_heading = "Files API")]
pub struct FileOptions {
    /// Folder of uploaded files' bytes (default: `files` under the home).
    #[arg(long, env = "GEMD_FILES_DIR")]
    pub files_dir: Option<PathBuf>,
    /// Storage replicas share, in place of `--files-dir`: `s3://bucket/prefix` (endpoint,
    /// region and credentials from the `AWS_*` variables) or `file:///folder`.
    #[arg(long, env = "GEMD_FILES_STORAGE")]
    pub files_storage: Option<String>,
    /// Largest uploaded file, in bytes (Google's 2 GB).
    #[arg(long, env = "GEMD_MAX_FILE_BYTES")]
    pub max_file_bytes: Option<u64>,
    /// Most bytes one project's files may hold (Google's 20 GB).
    #[arg(long, env = "GEMD_MAX_PROJECT_FILE_BYTES")]
    pub max_project_file_bytes: Option<u64>,
    /// Hours a file is kept after its upload (Google's 48); an unfinished upload session too.
    #[arg(long, env = "GEMD_FILE_RETENTION_HOURS")]
    pub file_retention_hours: Option<u64>,
}

/// The default backend's model and chat template. The file sets them in
/// `[backends.default]`, which these flags override.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "The default backend")]
pub struct ModelOptions {
    /// A known model's name (fetched if missing; see `gemd models`) or a GGUF file.
    #[arg(long, env = "GEMD_MODEL")]
    pub model: Option<ModelRef>,
    /// The chat template instead of the GGUF's own: a built-in name (chatml, gemma, llama3,
    /// mistral, plain) or a Jinja file.
    #[arg(long, env = "GEMD_CHAT_TEMPLATE")]
    pub chat_template: Option<ChatTemplate>,
}

/// The TOML file (also taken by `gemd models`).
#[derive(Debug, Args, Default, Clone)]
pub struct ConfigArg {
    /// TOML configuration file.
    #[arg(long, env = "GEMD_CONFIG")]
    pub config: Option<PathBuf>,
}

/// A boolean option with its `--no-` twin: `Some(false)` when the twin was given.
pub fn either(value: Option<bool>, no: bool) -> Option<bool> {
    if no {
        Some(false)
    } else {
        value
    }
}
