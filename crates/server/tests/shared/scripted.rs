//! Backends that need no model file: an engine that plays a fixed script of events and an
//! embedder shaped like all-MiniLM-L6-v2. The surface binary runs on nothing else; the http
//! binary uses the engine for failure paths (a crash mid-stream, an overloaded queue) that
//! the real model cannot be made to produce on demand.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use gemd_engine::embed::l2_normalize;
use gemd_engine::{
    BackendInfo, ChatFormat, ChatPrompt, Embedder, Engine, EngineError, Event, EventStream, Finish, PreparedPrompt,
    SamplingParams,
};

/// An engine that plays a fixed script of events, 5 ms apart, whatever it is asked; a prompt
/// is one token per whitespace-separated word.
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
        let output_tokens = pieces.len() as u32;
        script.push(Event::Done { finish: Finish::Stop, prompt_tokens: 3, output_tokens });
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
        let words = prompt.turns.iter().map(|t| t.plain_text().split_whitespace().count());
        let n = words.sum::<usize>().max(1);
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
        fn prepare(
            &self,
            prompt: &gemd_engine::ChatPrompt,
        ) -> Result<gemd_engine::PreparedPrompt, gemd_engine::EngineError> {
            self.inner.prepare(prompt)
        }
    };
}
pub(crate) use delegate_to_inner;

/// An embedder with all-MiniLM-L6-v2's shape (384 dimensions, 256 tokens an input), so the
/// limits the server derives from it read as with the real one. A token is a
/// whitespace-separated word, plus the two markers BERT adds ([CLS] and [SEP]); a vector
/// hashes the tokens it reads and their positions, so equal texts embed equally, different
/// ones differently, and only the first 256 tokens count.
pub struct ScriptedEmbedder;

impl ScriptedEmbedder {
    const DIMENSION: usize = 384;
    const MAX_TOKENS: usize = 256;
    const MARKERS: usize = 2;

    /// The tokens `text` is embedded from: [CLS], its first words, [SEP].
    fn tokens(text: &str) -> impl Iterator<Item = &str> {
        let words = text.split_whitespace().take(Self::MAX_TOKENS - Self::MARKERS);
        std::iter::once("[CLS]").chain(words).chain(std::iter::once("[SEP]"))
    }

    fn vector(text: &str) -> Vec<f32> {
        let mut v = vec![0.0; Self::DIMENSION];
        for (position, token) in Self::tokens(text).enumerate() {
            let mut h = DefaultHasher::new();
            (position, token).hash(&mut h);
            let h = h.finish();
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % Self::DIMENSION as u64) as usize] += sign;
        }
        l2_normalize(&mut v);
        v
    }
}

impl Embedder for ScriptedEmbedder {
    fn name(&self) -> &str {
        "scripted-embedder"
    }

    fn dimension(&self) -> usize {
        Self::DIMENSION
    }

    fn max_tokens(&self) -> usize {
        Self::MAX_TOKENS
    }

    fn count_tokens(&self, text: &str) -> Result<usize, EngineError> {
        Ok(text.split_whitespace().count() + Self::MARKERS)
    }

    fn count_tokens_capped(&self, text: &str, cap: usize) -> Result<usize, EngineError> {
        let words = text.split_whitespace().take(cap.saturating_sub(Self::MARKERS)).count();
        Ok((words + Self::MARKERS).min(cap))
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EngineError> {
        Ok(texts.iter().map(|t| Self::vector(t)).collect())
    }
}
