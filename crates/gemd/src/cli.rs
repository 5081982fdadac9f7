//! Command-line interface. `serve`'s options are the groups of settings/options.rs, each also
//! an environment variable and a key of the config file (settings/ layers them);
//! `parse_command_line` hands `serve` only what the command line said.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::settings::defaults;
use crate::settings::options::{
    ConfigArg, ConsoleOptions, CorsOptions, EngineOptions, FileOptions, KeyOptions, LimitOptions, ListenOptions,
    ModelOptions, QuotaOptions, StoreOptions,
};

#[derive(Debug, Parser)]
#[command(name = "gemd", version, about = "A self-hosted, wire-compatible Gemini API server")]
pub struct Cli {
    /// Home directory for models, keys and state.
    #[arg(long, env = "GEMD_HOME", global = true)]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// The command line is parsed once per process: boxing `ServeArgs` to shrink the enum would
// buy nothing.
#[allow(clippy::large_enum_variant)]
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
        store: StoreOptions,
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

/// `gemd serve`: every group's flags (and, through `env =`, its variables).
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub listen: ListenOptions,
    #[command(flatten)]
    pub keys: KeyOptions,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub engine: EngineOptions,
    #[command(flatten)]
    pub quota: QuotaOptions,
    #[command(flatten)]
    pub store: StoreOptions,
    #[command(flatten)]
    pub files: FileOptions,
    #[command(flatten)]
    pub console: ConsoleOptions,
    #[command(flatten)]
    pub limits: LimitOptions,
    #[command(flatten)]
    pub cors: CorsOptions,
    #[command(flatten)]
    pub config: ConfigArg,
}

impl Cli {
    pub fn parse_command_line() -> Cli {
        Cli::try_parse_command_line_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// The command line alone: `serve`'s variables are the next layer down, read by
    /// `Settings::resolve` (settings/env.rs), so clap is not let read them here.
    pub fn try_parse_command_line_from<I, T>(argv: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let command = Cli::command().mut_subcommand("serve", |serve| serve.mut_args(annotated_without_env));
        Cli::from_arg_matches(&command.try_get_matches_from(argv)?)
    }
}

/// A `serve` option that reads no environment, its help naming its variable and its default
/// (defaults.rs; as text only: a clap default would be a value, and hide the lower layers).
fn annotated_without_env(arg: clap::Arg) -> clap::Arg {
    let mut notes = String::new();
    if let Some(var) = arg.get_env() {
        notes.push_str(&format!(" [env: {}]", var.to_string_lossy()));
    }
    if let Some(d) = defaults::shown(arg.get_id().as_str()) {
        notes.push_str(&format!(" [default: {d}]"));
    }
    if notes.is_empty() {
        return arg;
    }
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    arg.help(format!("{help}{notes}")).env(None::<&'static str>)
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
        store: StoreOptions,
    },
    /// List projects.
    List {
        #[command(flatten)]
        store: StoreOptions,
    },
    /// Change a project's tier (free, tier1, tier2, tier3).
    SetTier {
        project: String,
        tier: String,
        #[command(flatten)]
        store: StoreOptions,
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
        store: StoreOptions,
    },
    /// List keys (prefix only; keys are stored hashed).
    List {
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        store: StoreOptions,
    },
    /// Revoke a key by id.
    Revoke {
        key_id: String,
        #[command(flatten)]
        store: StoreOptions,
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
