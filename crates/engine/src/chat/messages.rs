//! A [`ChatPrompt`] as the `messages` (and `tools`) a Hugging Face chat template reads:
//! `{"role": "system"|"user"|"assistant"|"tool", "content": …}`, assistant `tool_calls` of
//! `{"type": "function", "function": {"name", "arguments": {…}}}`, one `tool` message per
//! function result. Consecutive turns of one role are merged (most templates require
//! alternation, and Gemini clients send a function result and a question as two user turns).
//! For templates without a tools branch, calls, results and declarations become text in the
//! family's [`ToolSyntax`]. Every caller string is wrapped in the render's [`Marks`].

use serde_json::{json, Map, Value};

use super::prompt::{ChatPrompt, Piece, Role};
use super::spans::Marks;
use super::tool_syntax::{compact, policy_sentence, ToolSyntax};

/// Whether the template renders tools itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tools {
    Native,
    AsText,
}

/// The template's `messages` and `tools` for `prompt`.
pub fn template_input(prompt: &ChatPrompt, tools: Tools, syntax: ToolSyntax, marks: &Marks) -> (Vec<Value>, Value) {
    let mut system = prompt.system.clone().filter(|s| !s.is_empty());
    let mut declared = Value::Null;
    if let (Some(policy), false) = (prompt.policy, prompt.tools.is_empty()) {
        let addition = match tools {
            Tools::AsText => syntax.declarations(&prompt.tools, policy),
            // The template declares the tools; only a required call needs saying.
            Tools::Native => {
                declared = Value::Array(prompt.tools.iter().map(|t| marked_descriptions(&json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}), marks)).collect());
                match policy {
                    super::prompt::CallPolicy::Must => policy_sentence(policy).trim_start().to_string(),
                    super::prompt::CallPolicy::May => String::new(),
                }
            }
        };
        if !addition.is_empty() {
            system = Some(match system {
                Some(s) => format!("{s}\n\n{addition}"),
                None => addition,
            });
        }
    }
    let mut out: Vec<Value> = Vec::new();
    if let Some(s) = system {
        out.push(json!({"role": "system", "content": marks.wrap(&s)}));
    }
    for turn in &prompt.turns {
        match turn.role {
            Role::Model => model_turn(&mut out, &turn.pieces, tools, syntax, marks),
            Role::User => user_turn(&mut out, &turn.pieces, tools, syntax, marks),
        }
    }
    (out, declared)
}

fn model_turn(out: &mut Vec<Value>, pieces: &[Piece], tools: Tools, syntax: ToolSyntax, marks: &Marks) {
    let mut texts: Vec<String> = Vec::new();
    let mut calls: Vec<(&str, &Value)> = Vec::new();
    for p in pieces {
        match p {
            Piece::Text(t) => texts.push(t.clone()),
            Piece::Call { name, args } => calls.push((name, args)),
            // A result in a model turn is misplaced; it is shown as text rather than lost.
            Piece::Result { name, response } => texts.push(syntax.results_text([(name.as_str(), response)])),
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    match tools {
        Tools::AsText if !calls.is_empty() => texts.push(syntax.calls_text(calls.iter().copied())),
        Tools::AsText => {}
        Tools::Native if !calls.is_empty() => {
            let list: Vec<Value> = calls.iter().map(|(name, args)| json!({"type": "function", "function": {"name": marks.wrap(name), "arguments": marked(args, marks)}})).collect();
            message.insert("tool_calls".into(), Value::Array(list));
        }
        Tools::Native => {}
    }
    message.insert("content".into(), json!(marks.wrap(&texts.join("\n"))));
    push_merged(out, Value::Object(message));
}

fn user_turn(out: &mut Vec<Value>, pieces: &[Piece], tools: Tools, syntax: ToolSyntax, marks: &Marks) {
    let mut texts: Vec<String> = Vec::new();
    // Consecutive results read as one block of the family's result syntax (text mode).
    let mut results: Vec<(&str, &Value)> = Vec::new();
    let flush_texts = |out: &mut Vec<Value>, texts: &mut Vec<String>| {
        if !texts.is_empty() {
            push_merged(out, json!({"role": "user", "content": marks.wrap(&texts.join("\n"))}));
            texts.clear();
        }
    };
    for p in pieces {
        if let Piece::Result { name, response } = p {
            match tools {
                Tools::AsText => results.push((name, response)),
                Tools::Native => {
                    flush_texts(out, &mut texts);
                    let content = match response {
                        Value::String(s) => s.clone(),
                        other => compact(other),
                    };
                    out.push(json!({"role": "tool", "name": marks.wrap(name), "content": marks.wrap(&content)}));
                }
            }
            continue;
        }
        if !results.is_empty() {
            texts.push(syntax.results_text(results.drain(..)));
        }
        match p {
            Piece::Text(t) => texts.push(t.clone()),
            // A call in a user turn is misplaced; it is shown as text rather than lost.
            Piece::Call { name, args } => texts.push(syntax.calls_text([(name.as_str(), args)])),
            Piece::Result { .. } => unreachable!("handled above"),
        }
    }
    if !results.is_empty() {
        texts.push(syntax.results_text(results.drain(..)));
    }
    if texts.is_empty() && pieces.is_empty() {
        texts.push(String::new());
    }
    flush_texts(out, &mut texts);
}

/// Appends `message`, merged into the previous one when both are user or both assistant
/// messages (contents joined by a blank line, calls concatenated).
fn push_merged(out: &mut Vec<Value>, message: Value) {
    let role = message["role"].as_str().unwrap_or_default().to_string();
    if let Some(last) = out.last_mut().filter(|l| l["role"] == role.as_str() && (role == "user" || role == "assistant"))
    {
        let b = message["content"].as_str().unwrap_or_default();
        // Appended in place: a long run of one role's turns stays linear.
        if let Value::String(a) = &mut last["content"] {
            if !a.is_empty() && !b.is_empty() {
                a.push_str("\n\n");
            }
            a.push_str(b);
        }
        if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
            let list =
                last.as_object_mut().expect("messages are objects").entry("tool_calls").or_insert_with(|| json!([]));
            list.as_array_mut().expect("tool_calls is a list").extend(calls.iter().cloned());
        }
        return;
    }
    out.push(message);
}

/// `v` with every string value in it marked as caller text (keys stay as they are:
/// templates look them up by name), for call arguments.
fn marked(v: &Value, marks: &Marks) -> Value {
    match v {
        Value::String(s) => Value::String(marks.wrap(s)),
        Value::Array(items) => Value::Array(items.iter().map(|i| marked(i, marks)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), marked(v, marks))).collect()),
        other => other.clone(),
    }
}

/// A declaration with its free text (every `description`) marked. Other strings of a schema
/// (`"type": "string"`) are left as they are, since templates compare them; `tojson` marks
/// them when it writes them.
fn marked_descriptions(v: &Value, marks: &Marks) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| marked_descriptions(i, marks)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(s) if k == "description" => (k.clone(), Value::String(marks.wrap(s))),
                    other => (k.clone(), marked_descriptions(other, marks)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
