//! The in-process server every test talks to over real HTTP on 127.0.0.1: the built-in
//! catalog on the engine a test gives, the embedding ids on the embedder its binary's harness
//! names (`crate::harness::test_embedder`: the real one in tests/http, a scripted one in
//! tests/surface), keys and quotas in an in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use gemd_engine::Engine;
use gemd_quota::MemoryLimiter;
use gemd_server::QuotaTable;
use gemd_server::{builtin_embedding_models, builtin_models, AppState, Backends, Catalog, KeyRing, ModelSpec};
use gemd_server::{Access, DEFAULT_PROJECT};
use gemd_server::{ServerLimits, DEFAULT_BACKEND, DEFAULT_EMBEDDER};
use gemd_store::sqlite::Sqlite;
use gemd_store::{SqlStore, Store, Tier};

pub const KEY: &str = "AIzaSyTestKeyForGemdIntegrationTests01";
/// The admin token of every test server.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// Output cap of the test catalog, so replaying dozens of captures stays quick.
pub const TEST_OUTPUT_LIMIT: u32 = 40;
/// Context per sequence of the test engine (small, so "prompt too long" is cheap to reach).
pub const TEST_CONTEXT: u32 = 2048;
pub const TEST_BODY_LIMIT: usize = 1024 * 1024;

pub struct TestServer {
    pub base: String,
    /// The admin listener's base URL when the admin API is bound apart
    /// ([`TestServer::admin_apart`]).
    pub admin_base: Option<String>,
    pub http: reqwest::Client,
    /// The server's keys, limiter and ledger, for tests that check what a request was charged.
    pub access: Arc<Access>,
    /// The Files API's service, for tests that look at storage or sweep.
    pub files: Arc<gemd_server::Files>,
    /// Held as long as the server lives: a turn on a shared engine ([`TestServer::holding`]).
    _held: Option<Box<dyn Send + Sync>>,
}

/// The limits of every test server: the defaults with the test body limit.
pub fn test_limits() -> ServerLimits {
    ServerLimits { max_body_bytes: TEST_BODY_LIMIT, ..ServerLimits::default() }
}

impl TestServer {
    pub async fn with_engine(engine: Arc<dyn Engine>) -> Self {
        Self::with_engine_and_quotas(engine, QuotaTable::unlimited()).await
    }

    /// `engine` behind a catalog whose models may write `output_limit` tokens.
    pub async fn with_engine_and_output_limit(engine: Arc<dyn Engine>, output_limit: u32) -> Self {
        Self::build(engine, QuotaTable::unlimited(), output_limit).await
    }

    /// A server whose default project (the test key's) is on the free tier of `quotas`.
    pub async fn with_engine_and_quotas(engine: Arc<dyn Engine>, quotas: QuotaTable) -> Self {
        Self::build(engine, quotas, TEST_OUTPUT_LIMIT).await
    }

    /// `engine` behind a server that reads bodies of up to `body_limit` bytes.
    pub async fn with_engine_and_body_limit(engine: Arc<dyn Engine>, body_limit: usize) -> Self {
        let limits = ServerLimits { max_body_bytes: body_limit, ..test_limits() };
        Self::build_with(engine, QuotaTable::unlimited(), TEST_OUTPUT_LIMIT, limits, false).await
    }

    /// `engine` (models may write `output_limit` tokens) behind a server with `limits`: short
    /// read timeouts, a small connection limit, another CORS policy.
    pub async fn with_limits(engine: Arc<dyn Engine>, output_limit: u32, limits: ServerLimits) -> Self {
        Self::build_with(engine, QuotaTable::unlimited(), output_limit, limits, false).await
    }

    /// `engine` with the admin API and the console on a listener of their own
    /// ([`TestServer::admin_base`]), off the public one.
    pub async fn admin_apart(engine: Arc<dyn Engine>) -> Self {
        let quotas = QuotaTable::unlimited();
        Self::build_with(engine, quotas, TEST_OUTPUT_LIMIT, test_limits(), true).await
    }

    /// This server, holding `guard` until it is dropped.
    pub fn holding(mut self, guard: impl Send + Sync + 'static) -> Self {
        self._held = Some(Box::new(guard));
        self
    }

    async fn build(engine: Arc<dyn Engine>, quotas: QuotaTable, output_limit: u32) -> Self {
        Self::build_with(engine, quotas, output_limit, test_limits(), false).await
    }

    async fn build_with(
        engine: Arc<dyn Engine>,
        quotas: QuotaTable,
        output_limit: u32,
        limits: ServerLimits,
        admin_apart: bool,
    ) -> Self {
        let backends =
            Backends { engines: BTreeMap::from([(DEFAULT_BACKEND.to_string(), engine)]), ..Default::default() };
        let catalog = test_catalog(test_specs(output_limit), &backends);
        Self::serve_catalog(catalog, quotas, limits, admin_apart).await
    }

    /// A server of `catalog` (built with [`test_catalog`]), its default project on the free
    /// tier of `quotas`.
    pub async fn with_catalog(catalog: Catalog, quotas: QuotaTable) -> Self {
        Self::serve_catalog(catalog, quotas, test_limits(), false).await
    }

    async fn serve_catalog(catalog: Catalog, quotas: QuotaTable, limits: ServerLimits, admin_apart: bool) -> Self {
        let access = Arc::new(test_access(quotas).await);
        let files = test_files(&access);
        let state = AppState {
            files: files.clone(),
            catalog: Arc::new(catalog),
            access: access.clone(),
            limits,
            admin: Arc::new(gemd_server::AdminAuth::new(ADMIN_TOKEN)),
        };
        let listener = bind().await;
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let admin = match admin_apart {
            true => Some(bind().await),
            false => None,
        };
        let admin_base = admin.as_ref().map(|l| format!("http://{}", l.local_addr().expect("addr")));
        let listeners = gemd_server::Listeners { public: listener, admin };
        tokio::spawn(gemd_server::serve(listeners, state, std::future::pending()));
        let http = reqwest::Client::new();
        TestServer { base, admin_base, http, access, files, _held: None }
    }

    /// POST `path` with the test key in `x-goog-api-key`.
    pub async fn post(&self, path: &str, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-goog-api-key", KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let resp = self.post(path, body).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, v)
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.base);
        let resp = self.http.get(url).header("x-goog-api-key", KEY).send().await.expect("sent");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }
}

/// The built-in generative ids, each writing at most `output_limit` tokens.
pub fn test_specs(output_limit: u32) -> Vec<ModelSpec> {
    builtin_models()
        .into_iter()
        .map(|mut s| {
            s.generative_mut().expect("a generative model").output_token_limit = output_limit;
            s
        })
        .collect()
}

/// `specs` on `backends`, with the built-in embedding ids on the binary's test embedder.
pub fn test_catalog(specs: Vec<ModelSpec>, backends: &Backends) -> Catalog {
    let embedders = BTreeMap::from([(DEFAULT_EMBEDDER.to_string(), crate::harness::test_embedder())]);
    let catalog = Catalog::with_backends(specs, backends)
        .and_then(|c| c.with_embeddings(builtin_embedding_models(), &embedders, &backends.upstreams));
    catalog.expect("catalog")
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// Keys and quotas of a test server: an in-memory SQLite store, the in-process limiter.
pub async fn test_access(quotas: QuotaTable) -> Access {
    let store = SqlStore::open(Sqlite::in_memory().expect("sqlite")).await.expect("store");
    let project = store.ensure_project(DEFAULT_PROJECT, "Default project", Tier::Free).await;
    project.expect("default project");
    let limiter = Arc::new(MemoryLimiter::default());
    Access::new(Arc::new(store), KeyRing::new([KEY]), limiter, quotas, false)
}

/// The Files API of a test server: its store, bytes in a fresh temporary folder, Google's
/// limits.
pub fn test_files(access: &Access) -> Arc<gemd_server::Files> {
    let dir = std::env::temp_dir().join(format!("gemd-test-files-{}-{}", std::process::id(), rand_suffix()));
    let blobs = gemd_store::blobs::local::LocalDir::open(&dir).expect("files folder");
    Arc::new(gemd_server::Files::new(access.store.clone(), Arc::new(blobs), gemd_server::FileLimits::default()))
}

fn rand_suffix() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
