//! Chat prompts and how each model family is prompted: the model-neutral [`ChatPrompt`] both
//! API surfaces build, its rendering through the backend's own chat template
//! ([`ChatFormat`]: the GGUF's Jinja template, a configured one, or a built-in), the family's
//! tool-call syntax ([`ToolSyntax`]) and the split of the rendered prompt into template text
//! and caller text ([`Segment`]), so that control tokens come only from the template.

mod format;
mod messages;
mod prompt;
mod spans;
mod template;
pub mod tool_syntax;

pub use format::{builtin_names, ChatFormat, ChatFormatError};
pub use prompt::{CallPolicy, ChatPrompt, Piece, Role, ToolSpec, Turn};
pub use spans::{flatten, Segment};
pub use template::TemplateError;
pub use tool_syntax::ToolSyntax;
