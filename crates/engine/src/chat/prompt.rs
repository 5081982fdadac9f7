//! The model-neutral chat both API surfaces build: a system instruction, turns of text,
//! function calls and function results, and the functions the model may call. How it is
//! spelled for one model is the [`ChatFormat`](super::ChatFormat)'s business.

use serde_json::Value;

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Model,
}

/// One piece of a turn, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// A function call the model made earlier (model turns).
    Call {
        name: String,
        args: Value,
    },
    /// The result of a call, sent back by the caller (user turns).
    Result {
        name: String,
        response: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub pieces: Vec<Piece>,
}

impl Turn {
    /// A turn of plain text.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Turn { role, pieces: vec![Piece::Text(text.into())] }
    }

    /// The turn's text pieces joined (what a text-only reader of the turn sees).
    pub fn plain_text(&self) -> String {
        let texts: Vec<&str> =
            self.pieces.iter().filter_map(|p| if let Piece::Text(t) = p { Some(t.as_str()) } else { None }).collect();
        texts.join("\n")
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// Whether the model may or must call one of the prompt's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPolicy {
    /// Text or calls.
    May,
    /// Calls only.
    Must,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatPrompt {
    pub system: Option<String>,
    pub turns: Vec<Turn>,
    /// Functions declared to the model (empty: none; the template then renders no tools).
    pub tools: Vec<ToolSpec>,
    /// Set with `tools`: whether a call is optional or required now.
    pub policy: Option<CallPolicy>,
}

impl ChatPrompt {
    /// A single user turn.
    pub fn user(text: impl Into<String>) -> Self {
        ChatPrompt { turns: vec![Turn::text(Role::User, text)], ..Default::default() }
    }
}
