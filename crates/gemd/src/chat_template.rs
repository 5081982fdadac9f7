//! A backend's chat template override (`[backends.NAME] chat_template = …`, `serve
//! --chat-template …`): one of the engine's built-in formats by name, or a Jinja file.
//! Handed to the engine as `LlamaConfig::chat_template`: a name as written, a file as an
//! absolute path, checked to exist when the configuration is read.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use gemd_engine::chat::builtin_names;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    BuiltIn(&'static str),
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("chat template file {0} does not exist (or is not a file); the built-in templates are {builtin}", builtin = builtin_names().collect::<Vec<_>>().join(", "))]
    Missing(PathBuf),
    #[error("chat template path {0} is not UTF-8")]
    NotUtf8(PathBuf),
    #[error("resolving the chat template path {path}: {source}")]
    Absolute { path: PathBuf, source: std::io::Error },
}

impl ChatTemplate {
    /// A built-in name, else a file path.
    pub fn parse(s: &str) -> ChatTemplate {
        match builtin_names().find(|b| *b == s) {
            Some(b) => ChatTemplate::BuiltIn(b),
            None => ChatTemplate::File(PathBuf::from(s)),
        }
    }

    /// A file taken relative to `base` (the config file's directory; the working directory
    /// for the flag), made absolute and checked to exist.
    pub fn resolved(self, base: &Path) -> Result<ChatTemplate, TemplateError> {
        let ChatTemplate::File(p) = self else { return Ok(self) };
        let joined = base.join(&p);
        let path = std::path::absolute(&joined).map_err(|source| TemplateError::Absolute { path: joined, source })?;
        if !path.is_file() {
            return Err(TemplateError::Missing(path));
        }
        if path.to_str().is_none() {
            return Err(TemplateError::NotUtf8(path));
        }
        Ok(ChatTemplate::File(path))
    }

    /// The value of `LlamaConfig::chat_template`.
    pub fn config_value(&self) -> String {
        match self {
            ChatTemplate::BuiltIn(name) => name.to_string(),
            ChatTemplate::File(p) => p.to_string_lossy().into_owned(),
        }
    }
}

impl std::fmt::Display for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.config_value())
    }
}

impl<'de> Deserialize<'de> for ChatTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| ChatTemplate::parse(&s))
    }
}

impl std::str::FromStr for ChatTemplate {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ChatTemplate::parse(s))
    }
}
