//! The gemd binary: `serve` (default), `pull`, `models`.

mod cli;
mod config;
mod default_key;
mod pull;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use gemd_engine::llama::LlamaEngine;
use gemd_engine::Engine;
use gemd_server::{AppState, Catalog, KeyRing, ServerLimits, DEFAULT_BACKEND};

use cli::{Cli, Command, ServeArgs};
use config::Config;

const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 8080;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,llama_cpp_2=warn,llama-cpp-2=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let home = cli.home.clone().unwrap_or_else(default_home);
    let result = match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args, home),
        Command::Pull(args) => pull::ensure_model(&home, args.force).map(|p| println!("{}", p.display())),
        Command::Models(args) => list_models(args.config.as_deref()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn default_home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".cache").join("gemd")
}

fn list_models(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    for spec in config.catalog()? {
        let aliases = if spec.aliases.is_empty() { String::new() } else { format!(" (also {})", spec.aliases.join(", ")) };
        println!("{:<28} -> {}{aliases}", spec.id, spec.backend);
    }
    Ok(())
}

fn serve(args: ServeArgs, home: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(args.config.config.as_deref())?;
    let host = args.host.or(config.host.clone()).unwrap_or_else(|| DEFAULT_HOST.into());
    let port = args.port.or(config.port).unwrap_or(DEFAULT_PORT);

    // Keys: flags/env and the config file are static keys; with none, the home's default key.
    let mut static_keys: Vec<String> = args.api_keys.into_iter().filter(|k| !k.is_empty()).collect();
    static_keys.extend(config.api_keys.iter().cloned());
    let mut keys = KeyRing::new(&static_keys);
    if static_keys.is_empty() {
        keys.add_digest(default_key::load_or_create(&home)?);
    }

    // Backends: the default one (embedded model unless overridden), then configured ones.
    let mut backends: BTreeMap<String, Arc<dyn Engine>> = BTreeMap::new();
    let default_model = match (args.model, config.backends.get(DEFAULT_BACKEND)) {
        (Some(path), _) => path,
        (None, Some(b)) => b.model.clone(),
        (None, None) => pull::ensure_model(&home, false)?,
    };
    let default_sizing = config.backends.get(DEFAULT_BACKEND).map(|b| b.engine.over(&config.engine)).unwrap_or_else(|| config.engine.clone());
    backends.insert(DEFAULT_BACKEND.into(), load_llama(default_sizing.llama_config(default_model))?);
    for (name, b) in config.backends.iter().filter(|(n, _)| n.as_str() != DEFAULT_BACKEND) {
        backends.insert(name.clone(), load_llama(b.engine.over(&config.engine).llama_config(b.model.clone()))?);
    }
    let catalog = Catalog::new(config.catalog()?, &backends)?;
    let state = AppState {
        catalog: Arc::new(catalog),
        keys: Arc::new(keys),
        limits: ServerLimits { max_body_bytes: config.max_body_bytes.unwrap_or(ServerLimits::default().max_body_bytes) },
    };

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await.with_context(|| format!("binding {host}:{port}"))?;
        let addr = listener.local_addr()?;
        tracing::info!("listening on http://{addr}");
        gemd_server::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("drained in-flight requests; exiting");
        anyhow::Ok(())
    })?;
    // Engines are dropped here, after the server has drained: their threads finish and join.
    drop(backends);
    Ok(())
}

fn load_llama(config: gemd_engine::llama::LlamaConfig) -> anyhow::Result<Arc<dyn Engine>> {
    let path = config.model_path.clone();
    let started = std::time::Instant::now();
    let engine = LlamaEngine::load(config).with_context(|| format!("loading {}", path.display()))?;
    tracing::info!(backend = %engine.info().name, ms = started.elapsed().as_millis() as u64, "model loaded");
    Ok(Arc::new(engine))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; draining in-flight requests");
}
