//! The http binary's harness: the shared in-process server (tests/shared) backed by the real
//! embedded model (loaded once per test binary) or, for failure paths no real model can be
//! made to produce on demand, a scripted engine; embedding ids are always served by the real
//! embedded embedder (all-MiniLM-L6-v2, loaded once per test binary).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::llama::{LlamaConfig, LlamaEngine};
use gemd_engine::{Embedder, Engine};
use tokio::sync::RwLock;

pub(crate) use crate::shared::scripted::delegate_to_inner;
pub use crate::shared::scripted::ScriptedEngine;
pub use crate::shared::server::{TestServer, KEY, TEST_CONTEXT, TEST_OUTPUT_LIMIT};

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
    assert!(
        p.exists(),
        "the real model is missing at {}: run `./gemd.sh pull` (scripts/test.sh does) or set \
         {override_var}",
        p.display()
    );
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
            let embedder = BertEmbedder::load(BertEmbedderConfig::new(dir));
            Arc::new(embedder.expect("the real embedding model loads"))
        })
        .clone()
}

/// What serves the embedding ids of every server of this binary: the real embedder.
pub fn test_embedder() -> Arc<dyn Embedder> {
    real_embedder()
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

/// Who may use the shared real engine right now. llama.cpp's arithmetic depends on the batch a
/// sequence is decoded in, so tests that compare two answers token for token run alone (with
/// the write side); the others share it (the read side).
fn turns() -> Arc<RwLock<()>> {
    static TURNS: OnceLock<Arc<RwLock<()>>> = OnceLock::new();
    TURNS.get_or_init(|| Arc::new(RwLock::new(()))).clone()
}

impl TestServer {
    pub async fn real() -> Self {
        let turn = turns().read_owned().await;
        Self::with_engine(real_engine()).await.holding(turn)
    }

    /// A server on [`wire_engine`]: real HTTP, real model, the smallest one.
    pub async fn wire() -> Self {
        Self::with_engine(wire_engine()).await
    }

    /// The real engine with no other test's sequences in its batches.
    pub async fn real_exclusive() -> Self {
        let turn = turns().write_owned().await;
        Self::with_engine(real_engine()).await.holding(turn)
    }

    /// The shared real engine behind a catalog whose models may write `output_limit` tokens
    /// (function calls and JSON answers need more than the default cap to finish).
    pub async fn real_with_output_limit(output_limit: u32) -> Self {
        let turn = turns().read_owned().await;
        Self::with_engine_and_output_limit(real_engine(), output_limit).await.holding(turn)
    }
}
