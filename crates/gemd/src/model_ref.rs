//! What a backend's model names (`[backends.NAME] model = …`, `serve --model …`): a known
//! model by its short name (known_models.rs), fetched when missing, or the path of a GGUF file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::known_models::{self, KnownModel};
use crate::pull;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Known(&'static KnownModel),
    Path(PathBuf),
}

impl ModelRef {
    /// A known short name, else a path. The name wins: no short name contains `/` or ends in
    /// `.gguf`, so a file named like one is still reachable as `./NAME`.
    pub fn parse(s: &str) -> ModelRef {
        match known_models::find(s) {
            Some(m) => ModelRef::Known(m),
            None => ModelRef::Path(PathBuf::from(s)),
        }
    }

    /// The default model of `serve` and `gemd pull`.
    pub fn default_model() -> ModelRef {
        ModelRef::Known(known_models::default_model())
    }

    /// A relative path taken relative to `base` (the config file's directory).
    pub fn relative_to(self, base: &Path) -> ModelRef {
        match self {
            ModelRef::Path(p) if p.is_relative() => ModelRef::Path(base.join(p)),
            other => other,
        }
    }

    /// The GGUF file, a known model fetched and verified first when it needs to be.
    pub fn resolve(&self, home: &Path) -> anyhow::Result<PathBuf> {
        match self {
            ModelRef::Known(m) => pull::ensure(home, *m, false),
            ModelRef::Path(p) => Ok(p.clone()),
        }
    }

    /// The file it names, without fetching anything.
    pub fn path(&self, home: &Path) -> PathBuf {
        match self {
            ModelRef::Known(m) => pull::model_path(home, m),
            ModelRef::Path(p) => p.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for ModelRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| ModelRef::parse(&s))
    }
}

impl std::str::FromStr for ModelRef {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ModelRef::parse(s))
    }
}
