//! What a generation may answer with, whatever API surface asked: text, a JSON document, one
//! enum value, or function calls; and the grammar that makes the decoder keep to it.
//!
//! With calls possible the grammar is, in the backend's [`ToolSyntax`] (Qwen's shown),
//!
//! ```text
//! start: calls | ANSWER            (AUTO, VALIDATED)    start: calls   (ANY)
//! calls: form_0 | form_1
//! form_0: "<tool_call>\n" call ("\n</tool_call>\n<tool_call>\n" call){0,7} "\n</tool_call>"
//! form_1: call ("\n" call){0,7}
//! call:  "{\"name\": \"f\", \"arguments\": " %json{…f's parameters…} "}" | …
//! ```
//!
//! so every call names an allowed function and its arguments validate against that
//! function's schema; a text answer may be anything that does not open a call answer.

use gemd_engine::constraint::{embed_json_schema, lark_literal};
use gemd_engine::{CallPolicy, ChatPrompt, Constraint, ToolSpec, ToolSyntax};
use serde_json::{json, Value};

/// The most calls one answer may hold (parallel calls).
pub const MAX_PARALLEL_CALLS: usize = 8;

/// The shape of a non-call answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Text,
    /// One JSON document valid against this JSON Schema (`{}`: any JSON).
    Json(Value),
    /// Exactly one of these strings (`text/x.enum`).
    Enum(Vec<String>),
}

/// Everything a request says about the shape of its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Every declared function (rendered into the prompt).
    pub declared: Vec<ToolSpec>,
    /// Names the model may call now (a subset of `declared`).
    pub callable: Vec<String>,
    /// `None`: no call is possible (no declarations, or mode NONE).
    pub calls: Option<CallPolicy>,
    /// The most calls one answer may hold (1 when parallel calls are turned off).
    pub max_calls: usize,
    pub answer: Answer,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            declared: Vec::new(),
            callable: Vec::new(),
            calls: None,
            max_calls: MAX_PARALLEL_CALLS,
            answer: Answer::Text,
        }
    }
}

impl Plan {
    pub fn may_call(&self) -> bool {
        self.calls.is_some()
    }

    /// `chat` with the functions the model may call now: the chat format declares them the
    /// way the model was trained to read them (its template's tools, or text).
    pub fn prompt(&self, mut chat: ChatPrompt) -> ChatPrompt {
        if let Some(policy) = self.calls {
            chat.tools = self.declared.iter().filter(|t| self.callable.contains(&t.name)).cloned().collect();
            chat.policy = Some(policy);
        }
        chat
    }

    /// The grammar the decoder must keep to, with calls spelled in `syntax`; `None` for free
    /// text.
    pub fn constraint(&self, syntax: ToolSyntax) -> Option<Constraint> {
        let Some(policy) = self.calls else {
            return match &self.answer {
                Answer::Text => None,
                Answer::Json(schema) => Some(Constraint::JsonSchema(schema.clone())),
                Answer::Enum(values) => Some(Constraint::Lark(format!("start: {}\n", enum_alternatives(values)))),
            };
        };
        let mut g = String::new();
        g.push_str(match policy {
            CallPolicy::Must => "start: calls\n",
            CallPolicy::May => "start: calls | answer\n",
        });
        let forms = syntax.forms();
        let names: Vec<String> = (0..forms.len()).map(|i| format!("form_{i}")).collect();
        g.push_str(&format!("calls: {}\n", names.join(" | ")));
        let more = self.max_calls.clamp(1, MAX_PARALLEL_CALLS) - 1;
        for (name, form) in names.iter().zip(forms) {
            // Lark has no `{0,0}`: one call allowed means no repetition at all.
            let repeat =
                if more == 0 { String::new() } else { format!(" ({} call){{0,{more}}}", lark_literal(form.separator)) };
            g.push_str(&format!(
                "{name}: {}call{repeat}{}\n",
                literal_then_space(form.open),
                space_then_literal(form.close)
            ));
        }
        let alternatives: Vec<String> = (0..self.callable.len()).map(|i| format!("call_{i}")).collect();
        g.push_str(&format!("call: {}\n", alternatives.join(" | ")));
        for (i, name) in self.callable.iter().enumerate() {
            let schema = self
                .declared
                .iter()
                .find(|t| &t.name == name)
                .map(|t| t.parameters.clone())
                .unwrap_or_else(|| json!({"type": "object"}));
            g.push_str(&format!(
                "call_{i}: {} {} {}\n",
                lark_literal(&syntax.head(name)),
                embed_json_schema(&schema),
                lark_literal(syntax.tail())
            ));
        }
        if policy == CallPolicy::May {
            match &self.answer {
                // Free text, but never the opening of a call answer (which would escape the grammar).
                Answer::Text => {
                    let markers: Vec<String> = syntax.markers().iter().map(|m| regex_escape(m)).collect();
                    g.push_str(&format!("answer: TEXT\nTEXT: /(?s:.+)/ & ~/(?s:({}).*)/\n", markers.join("|")));
                }
                Answer::Json(schema) => g.push_str(&format!("answer: {}\n", embed_json_schema(schema))),
                Answer::Enum(values) => g.push_str(&format!("answer: {}\n", enum_alternatives(values))),
            }
        }
        Some(Constraint::Lark(g))
    }
}

/// `text` as a Lark literal followed by a space, or nothing for empty text (Lark has no
/// empty literal).
fn literal_then_space(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{} ", lark_literal(text))
    }
}

fn space_then_literal(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" {}", lark_literal(text))
    }
}

fn enum_alternatives(values: &[String]) -> String {
    values.iter().map(|v| lark_literal(v)).collect::<Vec<_>>().join(" | ")
}

fn regex_escape(text: &str) -> String {
    // Only the metacharacters: an escaped letter or `<` is a class or an assertion to the
    // regex engine (`\<` is a word boundary).
    text.chars()
        .flat_map(|c| match c {
            '\n' => vec!['\\', 'n'],
            c if "\\.+*?()|[]{}^$#&-~/`\"".contains(c) => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather() -> ToolSpec {
        ToolSpec {
            name: "get_weather".into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }
    }

    #[test]
    fn forced_calls_have_no_text_alternative() {
        let plan = Plan {
            declared: vec![weather()],
            callable: vec!["get_weather".into()],
            calls: Some(CallPolicy::Must),
            ..Plan::default()
        };
        let Some(Constraint::Lark(g)) = plan.constraint(ToolSyntax::Hermes) else { panic!() };
        assert!(g.starts_with("start: calls\n"), "{g}");
        assert!(g.contains(r#"form_0: "<tool_call>\n" call"#), "{g}");
        assert!(g.contains("calls: form_0 | form_1\n"), "{g}");
        assert!(g.contains(r#"call_0: "{\"name\": \"get_weather\", \"arguments\": " %json {"#), "{g}");
        assert!(!g.contains("TEXT"), "{g}");
    }

    #[test]
    fn optional_calls_exclude_text_that_opens_a_block() {
        let plan = Plan {
            declared: vec![weather()],
            callable: vec!["get_weather".into()],
            calls: Some(CallPolicy::May),
            ..Plan::default()
        };
        let Some(Constraint::Lark(g)) = plan.constraint(ToolSyntax::Fenced) else { panic!() };
        assert!(g.contains(r"TEXT: /(?s:.+)/ & ~/(?s:(\`\`\`tool_call\n).*)/"), "{g}");
        let Some(Constraint::Lark(g)) = plan.constraint(ToolSyntax::Hermes) else { panic!() };
        assert!(g.contains(r#"TEXT: /(?s:.+)/ & ~/(?s:(<tool_call>\n|\{\"name\": \").*)/"#), "{g}");
    }

    #[test]
    fn every_kind_of_grammar_compiles() {
        let two = vec![
            weather(),
            ToolSpec {
                name: "now".into(),
                description: String::new(),
                parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            },
        ];
        let names = vec!["get_weather".to_string(), "now".to_string()];
        for syntax in [ToolSyntax::Hermes, ToolSyntax::Llama3, ToolSyntax::Mistral, ToolSyntax::Fenced] {
            for calls in [None, Some(CallPolicy::May), Some(CallPolicy::Must)] {
                for answer in [
                    Answer::Text,
                    Answer::Json(gemd_engine::constraint::any_json()),
                    Answer::Json(json!({"type": "array", "items": {"type": "integer"}})),
                    Answer::Enum(vec!["x".into(), "y z".into()]),
                ] {
                    for max_calls in [1, 1 + names.len()] {
                        let plan = Plan {
                            declared: two.clone(),
                            callable: names.clone(),
                            calls,
                            answer: answer.clone(),
                            max_calls,
                        };
                        if let Some(c) = plan.constraint(syntax) {
                            gemd_engine::constraint::check(&c)
                                .unwrap_or_else(|e| panic!("{syntax:?}, {max_calls} calls: {e}\n{c:?}"));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn plain_answers() {
        assert_eq!(Plan::default().constraint(ToolSyntax::Hermes), None);
        let p = Plan { answer: Answer::Enum(vec!["a\"".into(), "b".into()]), ..Plan::default() };
        assert_eq!(p.constraint(ToolSyntax::Hermes), Some(Constraint::Lark("start: \"a\\\"\" | \"b\"\n".into())));
    }
}
