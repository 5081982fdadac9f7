//! `App::build`: what `gemd serve` runs, built from resolved `Settings`: the catalog and the
//! quota table (checked first: a bad file fails before any model is fetched), the llama
//! backends (fetched when known models are missing, then the memory check, then loaded), the
//! key store and the limiter, the upstream clients, the embedders and the admin token, into
//! gemd-server's state.
//! `App::serve` binds the listeners and serves until told to drain. The runtime and the
//! signals stay in main.
//!
//! Every gemd-server type gemd builds is built in this folder (catalog.rs, and `limits` and
//! `open_access` below), so a change to how they are constructed is a change here only.

pub mod catalog;
mod engines;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use gemd_engine::Engine;
use gemd_server::{Access, DEFAULT_PROJECT};
use gemd_server::{AppState, Backends, Catalog, CorsPolicy, KeyRing, Listeners, ServerLimits};

use crate::admin_token;
use crate::settings::{Listen, Settings};

pub struct App {
    state: AppState,
    listen: Listen,
    /// Where the admin token lies when none was given (named in the log, never the token).
    token_file: PathBuf,
    /// Held here too so that they are dropped (their threads joined) only when the App is,
    /// after the server has drained.
    _engines: BTreeMap<String, Arc<dyn Engine>>,
}

impl App {
    /// Builds everything `serve` needs. Fetching and loading models blocks: run it on the
    /// runtime's main thread (`Runtime::block_on`), not on a worker.
    pub async fn build(settings: &Settings) -> anyhow::Result<App> {
        let home = settings.home.as_path();
        let limits = limits(settings)?;
        let quotas = catalog::quota_table(&settings.catalog)?;
        let generative = catalog::generative(&settings.catalog)?;
        let embedding_specs = catalog::embeddings(&settings.catalog)?;

        // Known models are fetched first; then the memory check, before anything is loaded
        // or opened.
        let mut llama_configs = Vec::new();
        for b in &settings.backends {
            let c = b.llama_config(home).with_context(|| format!("backend {}", b.name))?;
            llama_configs.push((b.name.clone(), c));
        }
        engines::check_memory(&llama_configs)?;
        let access = open_access(settings, quotas).await?;
        let mut backends: BTreeMap<String, Arc<dyn Engine>> = BTreeMap::new();
        for (name, c) in llama_configs {
            backends.insert(name, engines::load_llama(c)?);
        }
        let upstreams = engines::upstreams(&settings.upstreams, |var| std::env::var(var).ok())?;
        let embedders = engines::load_embedders(&settings.catalog.embedders, &embedding_specs, home)?;
        let catalog =
            Catalog::with_backends(generative, &Backends { engines: backends.clone(), upstreams: upstreams.clone() })?
                .with_embeddings(embedding_specs, &embedders, &upstreams)?;
        let admin_token = match &settings.admin_token {
            Some(t) => t.clone(),
            None => admin_token::load_or_create(home)?,
        };
        let files = crate::files::open(&settings.files, access.store.clone())?;
        let state = AppState {
            files,
            catalog: Arc::new(catalog),
            access: Arc::new(access),
            limits,
            admin: Arc::new(gemd_server::AdminAuth::new(&admin_token)),
        };
        Ok(App { state, listen: settings.listen.clone(), token_file: admin_token::path(home), _engines: backends })
    }

    /// Binds the listeners and serves until `graceful` resolves, then until the requests in
    /// flight have finished.
    pub async fn serve(&self, graceful: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Listen { host, port, admin_listen, .. } = &self.listen;
        let public = tokio::net::TcpListener::bind((host.as_str(), *port))
            .await
            .with_context(|| format!("binding {host}:{port}"))?;
        let addr = public.local_addr()?;
        tracing::info!("listening on http://{addr}");
        let admin = match admin_listen {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a.as_str())
                    .await
                    .with_context(|| format!("binding the admin listener {a}"))?,
            ),
            None => None,
        };
        let console = match &admin {
            Some(l) => l.local_addr()?,
            None => addr,
        };
        tracing::info!(
            "console and admin API: http://{console}/ \
             (sign in with the admin token: --admin-token, GEMD_ADMIN_TOKEN or {})",
            self.token_file.display()
        );
        gemd_server::serve(Listeners { public, admin }, self.state.clone(), graceful).await?;
        Ok(())
    }
}

/// The server's limits, CORS checked here.
fn limits(settings: &Settings) -> anyhow::Result<ServerLimits> {
    let l = &settings.limits;
    let cors = CorsPolicy::new(&l.cors.allow_origins, &l.cors.allow_headers, l.cors.max_age).context("[cors]")?;
    Ok(ServerLimits {
        max_body_bytes: l.max_body_bytes,
        header_timeout: l.header_timeout,
        body_timeout: l.body_timeout,
        body_min_bytes_per_second: l.body_min_bytes_per_second,
        idle_timeout: l.idle_timeout,
        max_connections: l.max_connections,
        deadline: l.deadline,
        cors,
    })
}

/// Opens the key store (creating the default project, and on an empty store its first key,
/// printed once) and the limiter (Redis when configured, else in memory).
async fn open_access(settings: &Settings, quotas: gemd_server::QuotaTable) -> anyhow::Result<Access> {
    let store =
        gemd_store::open(settings.database_url.as_deref(), &settings.home).await.context("opening the key store")?;
    store.ensure_project(DEFAULT_PROJECT, "Default project", settings.quota.default_tier).await?;
    if settings.api_keys.is_empty() && store.count_keys().await? == 0 {
        let k = store.create_key(DEFAULT_PROJECT, "Default key").await?;
        // Printed to the terminal once, never logged: only its digest is stored.
        eprintln!("\nCreated an API key for the default project (shown once; store it now):\n\n    {}\n", k.secret);
    }
    let limiter: Arc<dyn gemd_quota::Limiter> = match &settings.quota.redis_url {
        Some(url) => Arc::new(
            gemd_quota::RedisLimiter::connect(url).await.with_context(|| "connecting to Redis for shared quotas")?,
        ),
        None => Arc::new(gemd_quota::MemoryLimiter::default()),
    };
    Ok(Access::new(store, KeyRing::new(&settings.api_keys), limiter, quotas, settings.quota.fail_open))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::resolve_with;

    #[test]
    fn server_limits_default_and_can_be_set() {
        let d = ServerLimits::default();
        let l = limits(&resolve_with(&[], &[], "").unwrap()).unwrap();
        assert_eq!(
            (l.header_timeout, l.idle_timeout, l.max_connections),
            (d.header_timeout, d.idle_timeout, d.max_connections)
        );
        assert_eq!(l.deadline, d.deadline);
        let file = "header_timeout_seconds = 5\nbody_timeout_seconds = 7\nidle_timeout_seconds = 9\n\
            max_connections = 64\ndeadline_seconds = 30\nadmin_listen = \"127.0.0.1:8081\"\n[cors]\nallow_origins = []";
        let settings = resolve_with(&["--max-connections", "32"], &[], file).unwrap();
        let l = limits(&settings).unwrap();
        assert_eq!((l.header_timeout.as_secs(), l.body_timeout.as_secs(), l.idle_timeout.as_secs()), (5, 7, 9));
        assert_eq!(l.deadline.as_secs(), 30);
        assert!(resolve_with(&[], &[], "deadline_seconds = 0").is_err());
        assert_eq!(l.max_connections, 32, "the command line wins");
        assert_eq!(settings.listen.admin_listen.as_deref(), Some("127.0.0.1:8081"));
        assert!(resolve_with(&[], &[], "idle_timeout_seconds = 0").is_err());
        let bad_origin = resolve_with(&[], &[], "[cors]\nallow_origins = [\"example.com\"]").unwrap();
        let e = format!("{:#}", limits(&bad_origin).unwrap_err());
        assert!(e.contains("[cors]") && e.contains("example.com"), "{e}");
    }
}
