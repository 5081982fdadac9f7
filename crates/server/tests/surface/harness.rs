//! The surface binary's harness: the shared in-process server (tests/shared) on scripted
//! backends only. Nothing here can load a model: the real engine and embedder are not even
//! named, so these tests run without any model file, in seconds.

use std::sync::{Arc, OnceLock};

use gemd_engine::Embedder;

pub(crate) use crate::shared::scripted::delegate_to_inner;
pub use crate::shared::scripted::{ScriptedEmbedder, ScriptedEngine};
pub use crate::shared::server::{test_limits, TestServer, ADMIN_TOKEN, KEY};
pub use crate::shared::server::{TEST_BODY_LIMIT, TEST_CONTEXT, TEST_OUTPUT_LIMIT};

/// What serves the embedding ids of every server of this binary: the scripted embedder.
pub fn test_embedder() -> Arc<dyn Embedder> {
    static EMBEDDER: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    EMBEDDER.get_or_init(|| Arc::new(ScriptedEmbedder)).clone()
}

/// The scripted stand-in for the http binary's real test engine: it answers "Hi" with the
/// same context per sequence, so the limits a server derives from its engine (the listed
/// input limit, the input limit a prompt is refused above) read the same.
pub fn test_engine() -> Arc<ScriptedEngine> {
    let mut engine = ScriptedEngine::text_then_done(&["Hi"]);
    engine.info.context_per_sequence = TEST_CONTEXT;
    Arc::new(engine)
}

impl TestServer {
    /// A server on [`test_engine`]: for tests whose point is the HTTP layer, not an answer.
    pub async fn scripted() -> Self {
        Self::with_engine(test_engine()).await
    }
}
