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
    /// Fetch and verify the embedded default model.
    Pull(PullArgs),
    /// List the model ids the configuration serves and their backends.
    Models(ConfigArg),
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
    /// GGUF file for the default backend instead of the embedded default model.
    #[arg(long, env = "GEMD_MODEL")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args, Default)]
pub struct PullArgs {
    /// Fetch and rebuild the model even if a verified copy exists.
    #[arg(long)]
    pub force: bool,
}
