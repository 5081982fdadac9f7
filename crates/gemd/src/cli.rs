//! Command-line interface. Every serve option also has an environment variable; a config file
//! supplies whatever neither gives.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "gemd", version, about = "A self-hosted, wire-compatible Gemini API server")]
pub struct Cli {
    /// Home directory for models, keys and state.
    #[arg(long, env = "GEMD_HOME", global = true)]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Gemini API (the default command).
    Serve(ServeArgs),
    /// Fetch and verify known models: the defaults (generative and embedding), or those named.
    Pull(PullArgs),
    /// List the known models and the model ids the configuration serves, with their backends.
    Models(ConfigArg),
    /// Manage projects.
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Usage per project, model and Pacific day.
    Usage {
        #[arg(long)]
        project: Option<String>,
        /// First day to include (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Benchmarks (see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print the prompt a generateContent request feeds the model (or its token count).
    Render(crate::render::RenderArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// llama.cpp driven directly (no HTTP, no scheduler): the ceiling for serving overhead.
    Raw(RawBenchArgs),
    /// The embedder driven directly (no HTTP): texts per second by batch size.
    Embed(EmbedBenchArgs),
    /// Quota checks per second (in memory, Redis, and a plain Redis counter as the peer) and
    /// the latency of the auth + quota path every request takes.
    Quota(QuotaBenchArgs),
}

#[derive(Debug, Args)]
pub struct QuotaBenchArgs {
    /// Also measure the Redis limiter (and the plain-counter peer) on this server.
    #[arg(long, env = "GEMD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Concurrent callers to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub concurrency: Vec<usize>,
    /// Seconds to measure each case for.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Distinct projects the checks are spread over.
    #[arg(long, default_value_t = 100)]
    pub projects: usize,
}

#[derive(Debug, Args)]
pub struct EmbedBenchArgs {
    /// Sentence-transformers directory (default: the embedded all-MiniLM-L6-v2).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Batch sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,128")]
    pub batches: Vec<usize>,
    /// Seconds to measure each batch size for (after one warm-up batch).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
}

#[derive(Debug, Args)]
pub struct RawBenchArgs {
    /// GGUF file or known model name (default: the default model).
    #[arg(long)]
    pub model: Option<crate::model_ref::ModelRef>,
    /// Sequence counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,8,16")]
    pub sequences: Vec<u32>,
    /// Approximate prompt length in tokens.
    #[arg(long, default_value_t = 200)]
    pub prompt_tokens: usize,
    /// Tokens generated per sequence.
    #[arg(long, default_value_t = 128)]
    pub generate: u32,
    /// CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<i32>,
    /// KV pool in tokens (default: what the sequences need; gemd serves with 49,152).
    #[arg(long)]
    pub context: Option<u32>,
    /// Kernels: default (llama.cpp's own, the ceiling) or invariant (gemd's default; see
    /// `batch_invariant` in docs/configuration.md). One per run: the choice is process-wide.
    #[arg(long, default_value = "default")]
    pub kernels: gemd_engine::llama::kernels::Kernels,
}

#[derive(Debug, Args, Default)]
pub struct ConfigArg {
    /// TOML configuration file.
    #[arg(long, env = "GEMD_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, env = "GEMD_HOST")]
    pub host: Option<String>,
    /// Port to bind (0 picks a free port).
    #[arg(long, env = "GEMD_PORT")]
    pub port: Option<u16>,
    /// API key to accept (repeatable). Env: comma-separated.
    #[arg(long = "api-key", env = "GEMD_API_KEYS", value_delimiter = ',', hide_env_values = true)]
    pub api_keys: Vec<String>,
    /// The default backend's model: a known model's name (fetched if missing; see `gemd
    /// models`) or a GGUF file. Default: qwen2.5-coder-0.5b-instruct.
    #[arg(long, env = "GEMD_MODEL")]
    pub model: Option<crate::model_ref::ModelRef>,
    /// The default backend's chat template instead of the GGUF's own: a built-in name
    /// (chatml, gemma, llama3, mistral, plain) or a Jinja file.
    #[arg(long, env = "GEMD_CHAT_TEMPLATE")]
    pub chat_template: Option<crate::chat_template::ChatTemplate>,
    /// Share quota state with other replicas through Redis (`redis://host:port/`).
    #[arg(long, env = "GEMD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// The admin token for the console and the admin API (a secret of its own, never an API
    /// key). Default: the one in `<home>/admin_token`, created on first start.
    #[arg(long, env = "GEMD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Admit requests when Redis is unreachable (default: refuse them with 503 UNAVAILABLE).
    #[arg(long, env = "GEMD_QUOTA_FAIL_OPEN")]
    pub quota_fail_open: bool,
    /// Seconds a SIGTERM/SIGINT waits for in-flight requests before cancelling them
    /// (default 30; a second signal cancels at once).
    #[arg(long, env = "GEMD_DRAIN_SECONDS")]
    pub drain_seconds: Option<u64>,
    /// Serve the admin API and the console on this `host:port` only, apart from the public
    /// port (default: on the public port). Keep it on loopback or a private network.
    #[arg(long, env = "GEMD_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Connections served at once per listener (default 512); more wait to be accepted.
    #[arg(long, env = "GEMD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Where projects, keys and the usage ledger live.
#[derive(Debug, Args, Default, Clone)]
pub struct StoreArg {
    /// `postgres://…` to share the store between replicas; default: SQLite under the home.
    #[arg(long, env = "GEMD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// Create a project.
    Create {
        /// Display name.
        name: String,
        #[arg(long, default_value = "free")]
        tier: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List projects.
    List {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Change a project's tier (free, tier1, tier2, tier3).
    SetTier {
        project: String,
        tier: String,
        #[command(flatten)]
        store: StoreArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key (printed once).
    Create {
        /// Project id (default: the default project).
        #[arg(long, default_value = "default")]
        project: String,
        #[arg(long, default_value = "API key")]
        name: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List keys (prefix only; keys are stored hashed).
    List {
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Revoke a key by id.
    Revoke {
        key_id: String,
        #[command(flatten)]
        store: StoreArg,
    },
}

#[derive(Debug, Args, Default)]
pub struct PullArgs {
    /// Known models to fetch (see `gemd models`); none: the default generative model and the
    /// default embedder.
    pub names: Vec<String>,
    /// Fetch and rebuild the models even if verified copies exist.
    #[arg(long)]
    pub force: bool,
}
