//! What can be wrong with the settings, each error naming the flag, variable or key to fix.

use super::layers::Origin;
use crate::chat_template::TemplateError;
use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// An environment variable clap's parser for its option refuses. The value is not
    /// repeated: some variables hold secrets.
    #[error("{var}: {reason}")]
    Env { var: String, reason: String },
    #[error(transparent)]
    File(#[from] ConfigError),
    #[error("{origin} must be at least 1")]
    Zero { origin: Origin },
    #[error("{origin}: {reason}")]
    Tier { origin: Origin, reason: String },
    #[error("{origin}")]
    ChatTemplate { origin: Origin, source: TemplateError },
}
