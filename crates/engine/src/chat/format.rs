//! One backend's chat format: the Jinja template its prompts are rendered with (the GGUF's
//! own `tokenizer.chat_template`, a configured file, or a built-in), the family's tool-call
//! syntax, and the markers that end the model's turn. It is chosen once per backend, at load,
//! from the template (or the configuration); nothing outside this module knows a family's
//! markers.

use minijinja::context;
use minijinja::value::Value;

use super::messages::{template_input, Tools};
use super::prompt::ChatPrompt;
use super::spans::{Marks, Segment};
use super::template::{ChatTemplate, TemplateError};
use super::tool_syntax::ToolSyntax;

/// gemd's own templates, by the name a configuration gives them.
const BUILTINS: &[(&str, &str)] = &[
    ("chatml", include_str!("templates/chatml.jinja")),
    ("gemma", include_str!("templates/gemma.jinja")),
    ("llama3", include_str!("templates/llama3.jinja")),
    ("mistral", include_str!("templates/mistral.jinja")),
    ("plain", include_str!("templates/plain.jinja")),
];

/// The names [`ChatFormat::builtin`] accepts.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(name, _)| *name)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatFormatError {
    #[error("unknown built-in chat template \"{0}\" (built-ins: chatml, gemma, llama3, mistral, plain)")]
    UnknownBuiltin(String),
    #[error("reading the chat template {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(transparent)]
    Template(#[from] TemplateError),
}

#[derive(Debug)]
pub struct ChatFormat {
    /// Where the template came from (`gguf`, `builtin:chatml`, a file path), for logs.
    source: String,
    template: ChatTemplate,
    tools: Tools,
    syntax: ToolSyntax,
    bos_token: String,
    eos_token: String,
    /// Markers that end the model's turn besides the model's EOS.
    end_of_turn: &'static [&'static str],
    /// Text that ends the turn in formats without an end-of-turn token (the plain format).
    stop_texts: &'static [&'static str],
}

impl ChatFormat {
    /// A format from template source; its family is read from the markers the template uses.
    pub fn from_template(
        source: impl Into<String>,
        template: &str,
        bos_token: &str,
        eos_token: &str,
    ) -> Result<Self, ChatFormatError> {
        let family = Family::of(template);
        let compiled = ChatTemplate::compile(template)?;
        // A template that reads `tools` renders declarations, calls and results itself.
        let tools = if template.contains("tools") && family.syntax != ToolSyntax::Fenced {
            Tools::Native
        } else {
            Tools::AsText
        };
        Ok(ChatFormat {
            source: source.into(),
            template: compiled,
            tools,
            syntax: family.syntax,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
            end_of_turn: family.end_of_turn,
            stop_texts: &[],
        })
    }

    /// One of gemd's own templates by name.
    pub fn builtin(name: &str, bos_token: &str, eos_token: &str) -> Result<Self, ChatFormatError> {
        let (_, source) =
            BUILTINS.iter().find(|(n, _)| *n == name).ok_or_else(|| ChatFormatError::UnknownBuiltin(name.into()))?;
        let mut format = Self::from_template(format!("builtin:{name}"), source, bos_token, eos_token)?;
        if name == "plain" {
            // No turn token: a base model goes on to write the next "User:" turn itself.
            format.stop_texts = &["\nUser:"];
        }
        Ok(format)
    }

    /// A built-in by name, or else the template in the file at `choice`.
    pub fn chosen(choice: &str, bos_token: &str, eos_token: &str) -> Result<Self, ChatFormatError> {
        if BUILTINS.iter().any(|(n, _)| *n == choice) {
            return Self::builtin(choice, bos_token, eos_token);
        }
        let text = std::fs::read_to_string(choice)
            .map_err(|e| ChatFormatError::Unreadable { path: choice.into(), reason: e.to_string() })?;
        Self::from_template(choice, &text, bos_token, eos_token)
    }

    /// Renders the chat, ending with the open model turn the reply goes into. Caller text
    /// comes back as [`Segment::Text`] only.
    pub fn render(&self, prompt: &ChatPrompt) -> Result<Vec<Segment>, TemplateError> {
        let marks = Marks::new();
        let (messages, tools) = template_input(prompt, self.tools, self.syntax, &marks);
        let ctx = context! {
            messages => Value::from_serialize(&messages),
            tools => Value::from_serialize(&tools),
            add_generation_prompt => true,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
        };
        let rendered = self.template.render(ctx, Some(&marks))?;
        Ok(marks.split(&rendered))
    }

    pub fn tool_syntax(&self) -> ToolSyntax {
        self.syntax
    }

    /// Whether the template renders tools itself (else gemd spells them as text).
    pub fn native_tools(&self) -> bool {
        self.tools == Tools::Native
    }

    pub fn end_of_turn(&self) -> &'static [&'static str] {
        self.end_of_turn
    }

    pub fn stop_texts(&self) -> &'static [&'static str] {
        self.stop_texts
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What a template's markers say about the model family.
struct Family {
    syntax: ToolSyntax,
    end_of_turn: &'static [&'static str],
}

impl Family {
    fn of(template: &str) -> Family {
        let has = |marker: &str| template.contains(marker);
        let (syntax, end_of_turn): (ToolSyntax, &'static [&'static str]) = if has("<|im_start|>") {
            (ToolSyntax::Hermes, &["<|im_end|>", "<|endoftext|>"])
        } else if has("<|start_header_id|>") {
            (ToolSyntax::Llama3, &["<|eot_id|>", "<|eom_id|>"])
        } else if has("[INST]") {
            (ToolSyntax::Mistral, &[])
        } else if has("<start_of_turn>") {
            (ToolSyntax::Fenced, &["<end_of_turn>"])
        } else {
            (ToolSyntax::Fenced, &[])
        };
        Family { syntax, end_of_turn }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::prompt::{CallPolicy, Piece, Role, ToolSpec, Turn};
    use crate::chat::spans::flatten;
    use serde_json::json;

    #[test]
    fn every_builtin_compiles_and_knows_its_family() {
        let families: Vec<(&str, ToolSyntax, bool)> = builtin_names()
            .map(|n| {
                let f = ChatFormat::builtin(n, "<s>", "</s>").unwrap();
                (n, f.tool_syntax(), f.native_tools())
            })
            .collect();
        assert_eq!(
            families,
            vec![
                ("chatml", ToolSyntax::Hermes, true),
                ("gemma", ToolSyntax::Fenced, false),
                ("llama3", ToolSyntax::Llama3, true),
                ("mistral", ToolSyntax::Mistral, true),
                ("plain", ToolSyntax::Fenced, false),
            ]
        );
        assert!(matches!(ChatFormat::builtin("vicuna", "", ""), Err(ChatFormatError::UnknownBuiltin(_))));
        // Only the plain format has no turn token, and stops at the next turn's text instead.
        assert_eq!(ChatFormat::builtin("plain", "", "").unwrap().stop_texts(), ["\nUser:"]);
        assert_eq!(ChatFormat::builtin("chatml", "", "").unwrap().end_of_turn(), ["<|im_end|>", "<|endoftext|>"]);
        assert!(ChatFormat::builtin("chatml", "", "").unwrap().stop_texts().is_empty());
    }

    #[test]
    fn text_mode_tools_are_declared_called_and_answered_in_the_family_syntax() {
        let f = ChatFormat::builtin("gemma", "<bos>", "<eos>").unwrap();
        let prompt = ChatPrompt {
            system: None,
            turns: vec![
                Turn::text(Role::User, "Weather in Paris?"),
                Turn {
                    role: Role::Model,
                    pieces: vec![Piece::Call { name: "get_weather".into(), args: json!({"city": "Paris"}) }],
                },
                Turn {
                    role: Role::User,
                    pieces: vec![Piece::Result { name: "get_weather".into(), response: json!({"c": 21}) }],
                },
            ],
            tools: vec![ToolSpec {
                name: "get_weather".into(),
                description: "Weather.".into(),
                parameters: json!({"type": "object"}),
            }],
            policy: Some(CallPolicy::May),
        };
        let text = flatten(&f.render(&prompt).unwrap());
        assert!(text.starts_with("<bos><start_of_turn>user\nYou can call these functions"), "{text}");
        assert!(text.contains("<start_of_turn>model\n```tool_call\n{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\"}}\n```<end_of_turn>"), "{text}");
        assert!(text.ends_with("```tool_result\n{\"name\": \"get_weather\", \"response\": {\"c\": 21}}\n```<end_of_turn>\n<start_of_turn>model\n"), "{text}");
    }
}
