//! The in-process server every test talks to over real HTTP on 127.0.0.1, backed by the real
//! embedded model (loaded once per test binary) or, for failure paths no real model can be
//! made to produce on demand, a scripted engine; embedding ids are always served by the real
//! embedded embedder (all-MiniLM-L6-v2, loaded once per test binary).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::llama::{LlamaConfig, LlamaEngine};
use gemd_quota::MemoryLimiter;
use gemd_server::{Access, DEFAULT_PROJECT};
use gemd_server::QuotaTable;
use gemd_store::sqlite::Sqlite;
use gemd_store::{SqlStore, Store, Tier};
use gemd_engine::{BackendInfo, ChatFormat, ChatPrompt, Embedder, Engine, EngineError, Event, EventStream, Finish, PreparedPrompt, SamplingParams};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use gemd_server::{builtin_embedding_models, builtin_models, AppState, Catalog, KeyRing, ServerLimits, DEFAULT_BACKEND, DEFAULT_EMBEDDER};

pub const KEY: &str = "AIzaSyTestKeyForGemdIntegrationTests01";
/// Output cap of the test catalog, so replaying dozens of captures stays quick.
/// The admin token of every test server.
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const TEST_OUTPUT_LIMIT: u32 = 40;
/// Context per sequence of the test engine (small, so "prompt too long" is cheap to reach).
pub const TEST_CONTEXT: u32 = 2048;
pub const TEST_BODY_LIMIT: usize = 1024 * 1024;

/// `name` under the gemd home's models, or `$override_var`; run `./gemd.sh pull` (the test
/// script does) to fetch the models.
fn pulled(override_var: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(override_var) {
        return p.into();
    }
    let home = std::env::var_os("GEMD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/gemd"));
    let p = home.join("models").join(name);
    assert!(p.exists(), "the real model is missing at {}: run `./gemd.sh pull` (scripts/test.sh does) or set {override_var}", p.display());
    p
}

/// The verified default model (Qwen2.5-Coder-0.5B-Instruct).
pub fn model_path() -> PathBuf {
    pulled("GEMD_TEST_MODEL", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
}

/// A second family: SmolLM2-135M-Instruct (`gemd pull smollm2-135m-instruct`).
pub fn smollm2_path() -> PathBuf {
    pulled("GEMD_TEST_SMOLLM2", "SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The real embedder (all-MiniLM-L6-v2, loaded once per test binary).
pub fn real_embedder() -> Arc<dyn Embedder> {
    static EMBEDDER: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let dir = pulled("GEMD_TEST_EMBEDDING_MODEL", "all-minilm-l6-v2");
            Arc::new(BertEmbedder::load(BertEmbedderConfig::new(dir)).expect("the real embedding model loads"))
        })
        .clone()
}

/// The test engine's configuration: small, so every limit is cheap to reach.
pub fn test_config() -> LlamaConfig {
    let mut config = LlamaConfig::new(model_path());
    config.context_per_sequence = TEST_CONTEXT;
    config.kv_tokens = TEST_CONTEXT * 4;
    config.max_sequences = 4;
    config
}

/// The real engine most tests share (loaded once per test binary).
pub fn real_engine() -> Arc<dyn Engine> {
    static ENGINE: OnceLock<Arc<dyn Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| engine_with(|_| {})).clone()
}

/// The smallest, fastest real model (SmolLM2-135M-Instruct, loaded once per test binary), for
/// tests whose point is the wire, not the answer's quality (the captured-request replay).
pub fn wire_engine() -> Arc<dyn Engine> {
    static ENGINE: OnceLock<Arc<dyn Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| engine_with(|c| c.model_path = smollm2_path())).clone()
}

/// A separate real engine (its own context and queue) with a changed configuration.
pub fn engine_with(change: impl FnOnce(&mut LlamaConfig)) -> Arc<dyn Engine> {
    let mut config = test_config();
    change(&mut config);
    Arc::new(LlamaEngine::load(config).expect("the real model loads"))
}

pub struct TestServer {
    pub base: String,
    /// The admin listener's base URL when the admin API is bound apart ([`TestServer::admin_apart`]).
    pub admin_base: Option<String>,
    pub http: reqwest::Client,
    /// The server's keys, limiter and ledger, for tests that check what a request was charged.
    pub access: Arc<Access>,
    _turn: Option<Turn>,
}

/// The limits of every test server: the defaults with the test body limit.
pub fn test_limits() -> ServerLimits {
    ServerLimits { max_body_bytes: TEST_BODY_LIMIT, ..ServerLimits::default() }
}

/// Who may use the shared real engine right now. llama.cpp's arithmetic depends on the batch a
/// sequence is decoded in, so tests that compare two answers token for token run alone.
enum Turn {
    #[allow(dead_code)]
    Shared(OwnedRwLockReadGuard<()>),
    #[allow(dead_code)]
    Exclusive(OwnedRwLockWriteGuard<()>),
}

fn turns() -> Arc<RwLock<()>> {
    static TURNS: OnceLock<Arc<RwLock<()>>> = OnceLock::new();
    TURNS.get_or_init(|| Arc::new(RwLock::new(()))).clone()
}

impl TestServer {
    pub async fn real() -> Self {
        let turn = Turn::Shared(turns().read_owned().await);
        let mut s = Self::with_engine(real_engine()).await;
        s._turn = Some(turn);
        s
    }

    /// A server on [`wire_engine`]: real HTTP, real model, the smallest one.
    pub async fn wire() -> Self {
        Self::with_engine(wire_engine()).await
    }

    /// The real engine with no other test's sequences in its batches.
    pub async fn real_exclusive() -> Self {
        let turn = Turn::Exclusive(turns().write_owned().await);
        let mut s = Self::with_engine(real_engine()).await;
        s._turn = Some(turn);
        s
    }

    pub async fn with_engine(engine: Arc<dyn Engine>) -> Self {
        Self::with_engine_and_quotas(engine, QuotaTable::unlimited()).await
    }

    /// The shared real engine behind a catalog whose models may write `output_limit` tokens
    /// (function calls and JSON answers need more than the default cap to finish).
    pub async fn real_with_output_limit(output_limit: u32) -> Self {
        let turn = Turn::Shared(turns().read_owned().await);
        let mut s = Self::build(real_engine(), QuotaTable::unlimited(), output_limit).await;
        s._turn = Some(turn);
        s
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
        Self::build_with(engine, QuotaTable::unlimited(), TEST_OUTPUT_LIMIT, test_limits(), true).await
    }

    async fn build(engine: Arc<dyn Engine>, quotas: QuotaTable, output_limit: u32) -> Self {
        Self::build_with(engine, quotas, output_limit, test_limits(), false).await
    }

    async fn build_with(engine: Arc<dyn Engine>, quotas: QuotaTable, output_limit: u32, limits: ServerLimits, admin_apart: bool) -> Self {
        let specs = builtin_models()
            .into_iter()
            .map(|mut s| {
                s.generative_mut().expect("a generative model").output_token_limit = output_limit;
                s
            })
            .collect();
        let backends = BTreeMap::from([(DEFAULT_BACKEND.to_string(), engine)]);
        let embedders = BTreeMap::from([(DEFAULT_EMBEDDER.to_string(), real_embedder())]);
        let catalog = Catalog::new(specs, &backends).and_then(|c| c.with_embeddings(builtin_embedding_models(), &embedders));
        let access = Arc::new(test_access(quotas).await);
        let state = AppState {
            catalog: Arc::new(catalog.expect("catalog")),
            access: access.clone(),
            limits,
            admin: Arc::new(gemd_server::AdminAuth::new(ADMIN_TOKEN)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let admin = match admin_apart {
            true => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the admin listener")),
            false => None,
        };
        let admin_base = admin.as_ref().map(|l| format!("http://{}", l.local_addr().expect("addr")));
        let listeners = gemd_server::Listeners { public: listener, admin };
        tokio::spawn(gemd_server::serve(listeners, state, std::future::pending()));
        TestServer { base, admin_base, http: reqwest::Client::new(), access, _turn: None }
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
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.http.get(format!("{}{path}", self.base)).header("x-goog-api-key", KEY).send().await.expect("sent");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }
}

/// Keys and quotas of a test server: an in-memory SQLite store, the in-process limiter.
pub async fn test_access(quotas: QuotaTable) -> Access {
    let store = SqlStore::open(Sqlite::in_memory().expect("sqlite")).await.expect("store");
    store.ensure_project(DEFAULT_PROJECT, "Default project", Tier::Free).await.expect("default project");
    Access::new(Arc::new(store), KeyRing::new([KEY]), Arc::new(MemoryLimiter::default()), quotas, false)
}

/// An engine that plays a fixed script of events: for failure paths (a crash mid-stream, an
/// overloaded queue) that the real model cannot be made to produce on demand.
pub struct ScriptedEngine {
    pub info: BackendInfo,
    pub script: Vec<Event>,
    pub refuse: Option<EngineError>,
    format: ChatFormat,
}

impl ScriptedEngine {
    pub fn new(script: Vec<Event>) -> Self {
        ScriptedEngine {
            info: BackendInfo { name: "scripted".into(), context_per_sequence: 4096, accepts_images: false },
            script,
            refuse: None,
            format: ChatFormat::builtin("plain", "", "").expect("the built-in plain format"),
        }
    }

    pub fn text_then_done(pieces: &[&str]) -> Self {
        let mut script: Vec<Event> = pieces
            .iter()
            .enumerate()
            .map(|(i, t)| Event::Text { text: t.to_string(), output_tokens: i as u32 + 1 })
            .collect();
        script.push(Event::Done { finish: Finish::Stop, prompt_tokens: 3, output_tokens: pieces.len() as u32 });
        Self::new(script)
    }
}

impl Engine for ScriptedEngine {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn chat_format(&self) -> &ChatFormat {
        &self.format
    }

    fn prepare(&self, prompt: &ChatPrompt) -> Result<PreparedPrompt, EngineError> {
        let n = prompt.turns.iter().map(|t| t.plain_text().split_whitespace().count()).sum::<usize>().max(1);
        Ok(PreparedPrompt { tokens: vec![0; n].into() })
    }

    fn generate(&self, _: PreparedPrompt, _: SamplingParams) -> Result<EventStream, EngineError> {
        if let Some(e) = &self.refuse {
            return Err(e.clone());
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let script = self.script.clone();
        tokio::spawn(async move {
            for e in script {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                if tx.send(e).is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }
}

/// The `Engine` methods a test wrapper (an engine that records or stalls one call) passes to
/// its `inner` engine unchanged; the wrapper writes only the methods it changes.
macro_rules! delegate_to_inner {
    () => {
        fn info(&self) -> &gemd_engine::BackendInfo {
            self.inner.info()
        }
        fn chat_format(&self) -> &gemd_engine::ChatFormat {
            self.inner.chat_format()
        }
        fn prepare(&self, prompt: &gemd_engine::ChatPrompt) -> Result<gemd_engine::PreparedPrompt, gemd_engine::EngineError> {
            self.inner.prepare(prompt)
        }
    };
}
pub(crate) use delegate_to_inner;
