//! The gemd binary: `serve` (default), `pull`, `models`, `render`, `projects`, `keys`, `usage`, `bench`.
//! `serve` resolves its settings (settings/), builds the app from them (app/) and runs it
//! here, on the runtime, until a signal drains it.

mod admin;
mod admin_token;
mod app;
mod artifact;
mod backends;
mod bench_embed;
mod bench_quota;
mod bench_raw;
mod chat_template;
mod cli;
mod config;
mod embedding_model;
mod files;
mod gguf_artifact;
mod known_models;
mod memory;
mod model_ref;
mod models_list;
mod pip;
mod pull;
mod render;
mod settings;
mod verify;
mod wheel;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use cli::{Cli, Command, ServeArgs};
use settings::{ProcessEnv, Settings};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,llama_cpp_2=warn,llama-cpp-2=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse_command_line();
    let home = cli.home.clone().unwrap_or_else(|| settings::defaults::home(std::env::var_os("HOME")));
    let result = match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args, home),
        Command::Pull(args) => pull::pull(&home, &args.names, args.force),
        Command::Models(args) => models_list::run(args.config.as_deref(), &home),
        Command::Bench(cli::BenchCommand::Raw(args)) => bench_raw::run(args, &home),
        Command::Projects(cmd) => block_on(admin::projects(cmd, &home)),
        Command::Keys(cmd) => block_on(admin::keys(cmd, &home)),
        Command::Usage { project, since, store } => block_on(admin::usage(project, since, store, &home)),
        Command::Bench(cli::BenchCommand::Embed(args)) => bench_embed::run(args, &home),
        Command::Bench(cli::BenchCommand::Quota(args)) => bench_quota::run(args),
        Command::Render(args) => render::run(args, &home).map_err(Into::into),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs, home: PathBuf) -> anyhow::Result<()> {
    let settings = Settings::load(home, args, &ProcessEnv)?;
    let drain = settings.listen.drain;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let app = runtime.block_on(app::App::build(&settings))?;
    drop(settings); // it holds the admin token
    runtime.block_on(async {
        // Installed before the server announces itself, so a signal sent right after
        // "listening" drains instead of killing the process.
        let signals = shutdown_signals().context("installing signal handlers")?;
        let mut first = signals.clone();
        let graceful = async move {
            let _ = first.wait_for(|n| *n >= 1).await;
            tracing::info!(
                deadline_s = drain.as_secs(),
                "shutdown requested; draining in-flight requests (a second signal cancels them)"
            );
        };
        tokio::select! {
            served = app.serve(graceful) => {
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
    runtime.shutdown_timeout(Duration::from_secs(5));
    // Engines are dropped here, after the server has drained: their threads finish and join.
    drop(app);
    Ok(())
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f)
}

/// Installs the SIGINT/SIGTERM handlers now and returns how many have arrived: the first
/// starts a graceful drain, the second ends it.
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
async fn drain_deadline(mut signals: tokio::sync::watch::Receiver<u32>, drain: Duration) -> &'static str {
    if signals.wait_for(|n| *n >= 1).await.is_err() {
        return std::future::pending().await;
    }
    tokio::select! {
        _ = tokio::time::sleep(drain) => "the drain deadline passed",
        _ = signals.wait_for(|n| *n >= 2) => "a second signal arrived",
    }
}
