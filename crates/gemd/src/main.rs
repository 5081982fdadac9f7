//! The gemd binary: `serve` (default), `pull`, `models`, `projects`, `keys`, `usage`, `bench`.

mod admin;
mod admin_token;
mod backends;
mod bench_embed;
mod bench_quota;
mod chat_template;
mod cli;
mod config;
mod known_models;
mod memory;
mod model_ref;
mod models_list;
mod pip;
mod pull;
mod pull_embedding;
mod verify;
mod wheel;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::llama::LlamaEngine;
use gemd_engine::{Embedder, Engine};
use gemd_server::{AppState, Catalog, KeyRing, DEFAULT_EMBEDDER};

use cli::{Cli, Command, ServeArgs};
use config::Config;

const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 8080;
/// How long a shutdown waits for in-flight requests: Kubernetes' default grace period.
const DEFAULT_DRAIN_SECONDS: u64 = 30;

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
        Command::Pull(args) => pull::pull(&home, &args.names, args.force),
        Command::Models(args) => models_list::run(args.config.as_deref(), &home),
        Command::Bench(cli::BenchCommand::Raw(args)) => raw_bench(args, &home),
        Command::Projects(cmd) => block_on(admin::projects(cmd, &home)),
        Command::Keys(cmd) => block_on(admin::keys(cmd, &home)),
        Command::Usage { project, since, store } => block_on(admin::usage(project, since, store, &home)),
        Command::Bench(cli::BenchCommand::Embed(args)) => bench_embed::run(args, &home),
        Command::Bench(cli::BenchCommand::Quota(args)) => bench_quota::run(args),
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

fn raw_bench(args: cli::RawBenchArgs, home: &std::path::Path) -> anyhow::Result<()> {
    let model = args.model.unwrap_or_else(model_ref::ModelRef::default_model).resolve(home)?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get() as i32).unwrap_or(2));
    // About ten tokens per sentence with Gemma's vocabulary.
    let prompt = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(args.prompt_tokens.div_ceil(13).max(1));
    for n in args.sequences {
        let r = gemd_engine::llama::raw_bench::run(&model, threads, n, &prompt, args.generate, args.context, args.kernels)?;
        // One JSON object per line: bench/run.py --raw-cmd reads these.
        println!(
            "{{\"system\":\"raw llama.cpp\",\"kernels\":\"{}\",\"sequences\":{},\"prompt_tokens\":{},\"generated\":{},\"prefill_tokens_per_s\":{:.1},\"decode_tokens_per_s\":{:.1},\"ms_per_step\":{:.1}}}",
            args.kernels.name(), r.sequences, r.prompt_tokens, r.generated_per_sequence, r.prefill_tokens_per_s, r.decode_tokens_per_s, r.ms_per_step
        );
    }
    Ok(())
}

fn serve(args: ServeArgs, home: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(args.config.config.as_deref())?;
    // Backends: the default one (the default known model unless overridden), then configured
    // ones. Known models are fetched first; then the memory check, before anything is
    // loaded or opened.
    let chat_template = args.chat_template.map(|t| t.resolved(std::path::Path::new(""))).transpose().context("--chat-template")?;
    let mut llama_configs = Vec::new();
    for b in backends::backends(&config, args.model, chat_template) {
        let c = b.llama_config(&home).with_context(|| format!("backend {}", b.name))?;
        llama_configs.push((b.name, c));
    }
    check_memory(&llama_configs)?;
    let host = args.host.or(config.host.clone()).unwrap_or_else(|| DEFAULT_HOST.into());
    let port = args.port.or(config.port).unwrap_or(DEFAULT_PORT);

    // Static keys (flags/env and the config file) belong to the default project.
    let mut static_keys: Vec<String> = args.api_keys.into_iter().filter(|k| !k.is_empty()).collect();
    static_keys.extend(config.api_keys.iter().cloned());
    let quotas = config.quota_table()?;
    let default_tier: gemd_store::Tier = config.default_tier.as_deref().unwrap_or("free").parse().map_err(anyhow::Error::msg)?;
    let database_url = args.store.database_url.or(config.database_url.clone());
    let redis_url = args.redis_url.or(config.redis_url.clone());
    let fail_open = args.quota_fail_open || config.quota_fail_open;
    let admin_listen = args.admin_listen.or(config.admin_listen.clone()).filter(|a| !a.is_empty());
    let drain = std::time::Duration::from_secs(args.drain_seconds.or(config.drain_seconds).unwrap_or(DEFAULT_DRAIN_SECONDS));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let access = runtime.block_on(open_access(database_url.as_deref(), redis_url.as_deref(), &home, &static_keys, default_tier, quotas, fail_open))?;

    let mut backends: BTreeMap<String, Arc<dyn Engine>> = BTreeMap::new();
    for (name, c) in llama_configs {
        backends.insert(name, load_llama(c)?);
    }
    let embedding_specs = config.embedding_catalog()?;
    let embedders = load_embedders(&config, &embedding_specs, &home)?;
    let catalog = Catalog::new(config.catalog()?, &backends)?.with_embeddings(embedding_specs, &embedders)?;
    let admin_token = match args.admin_token.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => admin_token::load_or_create(&home)?,
    };
    let state = AppState {
        catalog: Arc::new(catalog),
        access: Arc::new(access),
        limits: config.server_limits(args.max_connections)?,
        admin: Arc::new(gemd_server::AdminAuth::new(&admin_token)),
    };
    drop(admin_token);
    let token_file = admin_token::path(&home);

    runtime.block_on(async move {
        let signals = shutdown_signals().context("installing signal handlers")?;
        let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await.with_context(|| format!("binding {host}:{port}"))?;
        let addr = listener.local_addr()?;
        tracing::info!("listening on http://{addr}");
        let admin = match &admin_listen {
            Some(a) => Some(tokio::net::TcpListener::bind(a.as_str()).await.with_context(|| format!("binding the admin listener {a}"))?),
            None => None,
        };
        let console = match &admin {
            Some(l) => l.local_addr()?,
            None => addr,
        };
        tracing::info!("console and admin API: http://{console}/ (sign in with the admin token: --admin-token, GEMD_ADMIN_TOKEN or {})", token_file.display());
        let listeners = gemd_server::Listeners { public: listener, admin };
        let mut first = signals.clone();
        let graceful = async move {
            let _ = first.wait_for(|n| *n >= 1).await;
            tracing::info!(deadline_s = drain.as_secs(), "shutdown requested; draining in-flight requests (a second signal cancels them)");
        };
        tokio::select! {
            served = gemd_server::serve(listeners, state, graceful) => {
                served?;
                tracing::info!("drained in-flight requests; exiting");
            }
            why = drain_deadline(signals, drain) => {
                // Dropping the server drops every connection; the engines see their clients
                // gone and stop those sequences within one decode step.
                tracing::warn!("{why}; cancelling the requests still in flight");
            }
        }
        anyhow::Ok(())
    })?;
    // Connection tasks still running (the drain was cut short) are dropped with the runtime:
    // their clients are gone to the engines, which stop those sequences within one step.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    // Engines are dropped here, after the server has drained: their threads finish and join.
    drop(backends);
    Ok(())
}

/// Loads the embedders some embedding id uses (none when every embedding id is removed): a
/// configured directory, or for `default` the embedded all-MiniLM-L6-v2, fetched if missing.
fn load_embedders(config: &Config, specs: &[gemd_server::ModelSpec], home: &std::path::Path) -> anyhow::Result<BTreeMap<String, Arc<dyn Embedder>>> {
    let mut embedders: BTreeMap<String, Arc<dyn Embedder>> = BTreeMap::new();
    for name in specs.iter().map(|s| &s.backend) {
        if embedders.contains_key(name) {
            continue;
        }
        let dir = match config.embedders.get(name) {
            Some(e) => e.model.clone(),
            None if name == DEFAULT_EMBEDDER => pull_embedding::ensure_embedding_model(home, false)?,
            None => continue, // the catalog names the id and the missing embedder
        };
        let started = std::time::Instant::now();
        let embedder = BertEmbedder::load(BertEmbedderConfig::new(&dir)).with_context(|| format!("loading the embedder in {}", dir.display()))?;
        tracing::info!(embedder = %embedder.name(), dimension = embedder.dimension(), ms = started.elapsed().as_millis() as u64, "embedding model ready (its weights load on the first embedding call)");
        embedders.insert(name.clone(), Arc::new(embedder));
    }
    Ok(embedders)
}

/// Opens the key store (creating the default project, and on an empty store its first key,
/// printed once) and the limiter (Redis when configured, else in memory).
async fn open_access(
    database_url: Option<&str>,
    redis_url: Option<&str>,
    home: &std::path::Path,
    static_keys: &[String],
    default_tier: gemd_store::Tier,
    quotas: gemd_server::QuotaTable,
    fail_open: bool,
) -> anyhow::Result<gemd_server::Access> {
    use gemd_server::{Access, DEFAULT_PROJECT};
    let store = gemd_store::open(database_url, home).await.context("opening the key store")?;
    store.ensure_project(DEFAULT_PROJECT, "Default project", default_tier).await?;
    if static_keys.is_empty() && store.count_keys().await? == 0 {
        let k = store.create_key(DEFAULT_PROJECT, "Default key").await?;
        // Printed to the terminal once, never logged: only its digest is stored.
        eprintln!("\nCreated an API key for the default project (shown once; store it now):\n\n    {}\n", k.secret);
    }
    let limiter: Arc<dyn gemd_quota::Limiter> = match redis_url {
        Some(url) => Arc::new(gemd_quota::RedisLimiter::connect(url).await.with_context(|| "connecting to Redis for shared quotas")?),
        None => Arc::new(gemd_quota::MemoryLimiter::default()),
    };
    Ok(Access::new(store, KeyRing::new(static_keys), limiter, quotas, fail_open))
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f)
}

/// Estimates every backend's memory from its GGUF header and refuses to start when they
/// would not fit in the available memory (memory.rs); logs each estimate otherwise.
fn check_memory(configs: &[(String, gemd_engine::llama::LlamaConfig)]) -> anyhow::Result<()> {
    let mut estimates = Vec::new();
    for (name, c) in configs {
        let estimate = match memory::estimate(c) {
            Ok(e) => e,
            // Not a transformer sized the usual way: count its weights alone.
            Err(e @ memory::EstimateError::Missing { .. }) => {
                tracing::warn!(backend = %name, "{e}; counting its weights only");
                let weights = std::fs::metadata(&c.model_path).map(|m| m.len()).unwrap_or(0);
                memory::Estimate { weights, kv: 0, kv_cells: memory::kv_cells(c) }
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("backend {name}"))),
        };
        estimates.push(memory::BackendEstimate { backend: name.clone(), model: c.model_path.clone(), estimate });
    }
    let available = memory::available_memory();
    memory::check(&estimates, available)?;
    for e in &estimates {
        tracing::info!("memory estimate: {e}");
    }
    if let Some(a) = available {
        let total: u64 = estimates.iter().map(|e| e.estimate.total()).sum();
        tracing::info!("memory estimate: {} MiB in all, {} MiB available", total >> 20, a >> 20);
    }
    Ok(())
}

fn load_llama(config: gemd_engine::llama::LlamaConfig) -> anyhow::Result<Arc<dyn Engine>> {
    let path = config.model_path.clone();
    let started = std::time::Instant::now();
    let engine = LlamaEngine::load(config).with_context(|| format!("loading {}", path.display()))?;
    tracing::info!(backend = %engine.info().name, ms = started.elapsed().as_millis() as u64, "model loaded");
    Ok(Arc::new(engine))
}

/// Installs the SIGINT/SIGTERM handlers now (before the server announces itself, so a signal
/// sent right after "listening" drains instead of killing the process) and returns how many
/// have arrived: the first starts a graceful drain, the second ends it.
fn shutdown_signals() -> std::io::Result<tokio::sync::watch::Receiver<u32>> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?)
    };
    let (count, received) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            #[cfg(unix)]
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            count.send_modify(|n| *n += 1);
        }
    });
    Ok(received)
}

/// Resolves when a drain has to stop waiting: `drain` after the first signal, or at the
/// second. A long generation would otherwise hold the process for minutes.
async fn drain_deadline(mut signals: tokio::sync::watch::Receiver<u32>, drain: std::time::Duration) -> &'static str {
    if signals.wait_for(|n| *n >= 1).await.is_err() {
        return std::future::pending().await;
    }
    tokio::select! {
        _ = tokio::time::sleep(drain) => "the drain deadline passed",
        _ = signals.wait_for(|n| *n >= 2) => "a second signal arrived",
    }
}
