//! How function calling is spelled in the text a model reads and writes, per model family.
//! A call answer is, in one of the family's [`Form`]s, `open`, then one or more
//! `head(name) ARGS tail` joined by `separator`, then `close`; the constrained-decoding grammar is built from the same pieces, so what a
//! model writes under the grammar is what it was trained to write and what [`parse`] reads.
//!
//! | family | a call answer |
//! |---|---|
//! | Hermes (Qwen, ChatML) | `<tool_call>\n{"name": "f", "arguments": {…}}\n</tool_call>` (one block per call), or the bare objects, one per line |
//! | Llama 3.x | `{"name": "f", "parameters": {…}}` (one per line) |
//! | Mistral | `[TOOL_CALLS] [{"name": "f", "arguments": {…}}, …]` |
//! | Fenced (Gemma, plain) | ```` ```tool_call\n{"name": "f", "args": {…}}\n``` ```` (one line per call) |
//!
//! Templates with a tools branch render earlier calls, results and declarations themselves;
//! for a template without one (Gemma's, SmolLM2's, the plain format) [`ToolSyntax::calls_text`],
//! [`ToolSyntax::results_text`] and [`ToolSyntax::declarations`] spell them as text, in the
//! same syntax.
//!
//! [`parse`]: ToolSyntax::parse

use serde_json::{json, Value};

use super::prompt::{CallPolicy, ToolSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolSyntax {
    Hermes,
    Llama3,
    Mistral,
    Fenced,
}

impl ToolSyntax {
    pub fn name(self) -> &'static str {
        match self {
            ToolSyntax::Hermes => "hermes",
            ToolSyntax::Llama3 => "llama3-json",
            ToolSyntax::Mistral => "mistral",
            ToolSyntax::Fenced => "fenced",
        }
    }

    /// The ways a call answer may be written, the one the model was trained on first.
    /// Qwen2.5-Coder often leaves out Hermes' `<tool_call>` tags and writes the bare JSON
    /// objects (0 of 20 weather questions were tagged in gemd's AUTO-mode test), so Hermes
    /// also accepts that.
    pub fn forms(self) -> &'static [Form] {
        const BARE_LINES: Form = Form { open: "", separator: "\n", close: "" };
        match self {
            ToolSyntax::Hermes => &[
                Form { open: "<tool_call>\n", separator: "\n</tool_call>\n<tool_call>\n", close: "\n</tool_call>" },
                BARE_LINES,
            ],
            ToolSyntax::Llama3 => &[BARE_LINES],
            ToolSyntax::Mistral => &[Form { open: "[TOOL_CALLS] [", separator: ", ", close: "]" }],
            ToolSyntax::Fenced => &[Form { open: "```tool_call\n", separator: "\n", close: "\n```" }],
        }
    }

    /// The canonical form: how gemd writes calls into a prompt.
    fn form(self) -> Form {
        self.forms()[0]
    }

    /// The key the arguments object goes under.
    fn args_key(self) -> &'static str {
        match self {
            ToolSyntax::Hermes | ToolSyntax::Mistral => "arguments",
            ToolSyntax::Llama3 => "parameters",
            ToolSyntax::Fenced => "args",
        }
    }

    /// One call up to where its arguments object starts.
    pub fn head(self, name: &str) -> String {
        format!("{{\"name\": {}, \"{}\": ", serde_json::to_string(name).expect("strings serialise"), self.args_key())
    }

    /// Closes one call's object.
    pub fn tail(self) -> &'static str {
        "}"
    }

    /// The texts by which an answer shows it is a call answer, one per form: text that
    /// starts this way is held back while streaming, and a free-text answer may not start
    /// with one.
    pub fn markers(self) -> Vec<String> {
        self.forms()
            .iter()
            .map(|f| if f.open.is_empty() { "{\"name\": \"".to_string() } else { f.open.to_string() })
            .collect()
    }

    /// An answer's calls, in the form the grammar lets the model write.
    pub fn calls_text<'a>(self, calls: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
        let calls: Vec<String> = calls
            .into_iter()
            .map(|(name, args)| format!("{}{}{}", self.head(name), compact(args), self.tail()))
            .collect();
        let form = self.form();
        format!("{}{}{}", form.open, calls.join(form.separator), form.close)
    }

    /// Reads an answer back: `(name, args)` per call, or `None` when the text is not exactly
    /// one well-formed call answer in one of the forms.
    pub fn parse(self, text: &str) -> Option<Vec<(String, Value)>> {
        self.forms().iter().find_map(|form| self.parse_form(*form, text))
    }

    fn parse_form(self, form: Form, text: &str) -> Option<Vec<(String, Value)>> {
        let body = text.strip_prefix(form.open)?.strip_suffix(form.close)?;
        let objects: Vec<Value> = match self {
            ToolSyntax::Mistral => serde_json::from_str::<Vec<Value>>(&format!("[{body}]")).ok()?,
            _ => body.split(form.separator).map(|one| serde_json::from_str(one).ok()).collect::<Option<_>>()?,
        };
        let calls: Option<Vec<(String, Value)>> = objects.into_iter().map(|v| self.call_of(v)).collect();
        calls.filter(|c| !c.is_empty())
    }

    /// The calls a call answer had finished when the output cap cut it off: every whole call
    /// before the one being written (none when the first was cut), in whichever form has
    /// the most.
    pub fn finished_calls(self, text: &str) -> Vec<(String, Value)> {
        self.forms().iter().map(|form| self.finished_in_form(*form, text)).max_by_key(Vec::len).unwrap_or_default()
    }

    fn finished_in_form(self, form: Form, text: &str) -> Vec<(String, Value)> {
        let Some(mut rest) = text.strip_prefix(form.open) else { return Vec::new() };
        let mut calls = Vec::new();
        loop {
            // One JSON value at a time: a cut-off object is an EOF error, where the calls end.
            let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            let Some(call) = values.next().and_then(Result::ok).and_then(|v| self.call_of(v)) else { break };
            calls.push(call);
            match rest[values.byte_offset()..].strip_prefix(form.separator) {
                Some(next) => rest = next,
                None => break,
            }
        }
        calls
    }

    /// `(name, args)` of one call object, if it is one in this family's spelling.
    fn call_of(self, v: Value) -> Option<(String, Value)> {
        let name = v.get("name")?.as_str()?.to_string();
        let args = v.get(self.args_key())?.clone();
        args.is_object().then_some((name, args))
    }

    /// Function results as text, for templates without a tool role.
    pub fn results_text<'a>(self, results: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
        let lines: Vec<String> =
            results.into_iter().map(|(name, response)| compact(&json!({"name": name, "response": response}))).collect();
        match self {
            ToolSyntax::Hermes => {
                lines.iter().map(|l| format!("<tool_response>\n{l}\n</tool_response>")).collect::<Vec<_>>().join("\n")
            }
            ToolSyntax::Mistral => format!("[TOOL_RESULTS] [{}][/TOOL_RESULTS]", lines.join(", ")),
            ToolSyntax::Llama3 | ToolSyntax::Fenced => format!("```tool_result\n{}\n```", lines.join("\n")),
        }
    }

    /// The system text that declares `tools` and says how to call them, for templates
    /// without a tools branch.
    pub fn declarations(self, tools: &[ToolSpec], policy: CallPolicy) -> String {
        let mut out = String::from("You can call these functions (the arguments of each follow its JSON Schema):\n");
        for t in tools {
            out.push_str(&compact(&json!({"name": t.name, "description": t.description, "parameters": t.parameters})));
            out.push('\n');
        }
        out.push_str("\nTo call functions, answer with only this, one call each:\n");
        let form = self.form();
        out.push_str(&format!(
            "{}{}<arguments>{}{}\n",
            form.open,
            self.head("<function name>"),
            self.tail(),
            form.close
        ));
        out.push_str(match self {
            ToolSyntax::Hermes => "The results come back in <tool_response> blocks.",
            ToolSyntax::Mistral => "The results come back after [TOOL_RESULTS].",
            ToolSyntax::Llama3 | ToolSyntax::Fenced => "The results come back in a ```tool_result block.",
        });
        out.push_str(policy_sentence(policy));
        out
    }
}

/// One way of writing a call answer: `open`, the calls joined by `separator`, `close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub open: &'static str,
    pub separator: &'static str,
    pub close: &'static str,
}

/// What the prompt says about whether a call is required.
pub fn policy_sentence(policy: CallPolicy) -> &'static str {
    match policy {
        CallPolicy::Must => " You must call at least one function now.",
        CallPolicy::May => " If no function helps, answer in plain text instead.",
    }
}

/// JSON with `", "` and `": "` separators, the style constrained output is written in (and
/// the one Python's `json.dumps`, hence most templates' `tojson`, writes).
pub fn compact(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).expect("keys serialise"), compact(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ToolSyntax; 4] = [ToolSyntax::Hermes, ToolSyntax::Llama3, ToolSyntax::Mistral, ToolSyntax::Fenced];

    #[test]
    fn every_family_reads_back_what_it_writes() {
        let a = json!({"city": "Paris", "days": [1, 2]});
        let b = json!({});
        for s in ALL {
            let text = s.calls_text([("get_weather", &a), ("now", &b)]);
            assert_eq!(
                s.parse(&text),
                Some(vec![("get_weather".into(), a.clone()), ("now".into(), b.clone())]),
                "{s:?}: {text}"
            );
            assert!(text.starts_with(&s.markers()[0]), "{s:?}: {text}");
        }
    }

    #[test]
    fn each_family_is_spelled_as_trained() {
        let a = json!({"city": "Paris"});
        assert_eq!(
            ToolSyntax::Hermes.calls_text([("f", &a)]),
            "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        );
        assert_eq!(
            ToolSyntax::Llama3.calls_text([("f", &a)]),
            "{\"name\": \"f\", \"parameters\": {\"city\": \"Paris\"}}"
        );
        assert_eq!(ToolSyntax::Mistral.calls_text([("f", &a), ("g", &a)]), "[TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"g\", \"arguments\": {\"city\": \"Paris\"}}]");
        assert_eq!(
            ToolSyntax::Fenced.calls_text([("f", &a)]),
            "```tool_call\n{\"name\": \"f\", \"args\": {\"city\": \"Paris\"}}\n```"
        );
    }

    #[test]
    fn anything_else_is_not_a_call_answer() {
        for s in ALL {
            assert_eq!(s.parse("hello"), None, "{s:?}");
            for f in s.forms() {
                assert_eq!(s.parse(&format!("{}{{\"name\": \"f\"}}{}", f.open, f.close)), None, "{s:?}");
                assert_eq!(s.parse(&format!("{}{}", f.open, f.close)), None, "{s:?}");
            }
        }
    }

    #[test]
    fn hermes_also_reads_untagged_calls() {
        let text =
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n{\"name\": \"now\", \"arguments\": {}}";
        assert_eq!(
            ToolSyntax::Hermes.parse(text),
            Some(vec![("get_weather".into(), json!({"city": "Paris"})), ("now".into(), json!({}))])
        );
        assert_eq!(ToolSyntax::Hermes.markers(), vec!["<tool_call>\n".to_string(), "{\"name\": \"".to_string()]);
    }

    #[test]
    fn a_cut_answer_keeps_the_calls_it_finished() {
        let a = json!({"city": "Paris", "note": "a, b"});
        for s in ALL {
            let whole = s.calls_text([("f", &a), ("g", &a), ("h", &a)]);
            let third = whole.rfind("\"h\"").expect("the third call is there");
            // Cut before or inside the third call: the first two remain.
            let inside_args = third + whole[third..].find('}').expect("the third call has arguments");
            for cut in [third - 2, third + 3, inside_args] {
                let names: Vec<String> = s.finished_calls(&whole[..cut]).into_iter().map(|(n, _)| n).collect();
                assert_eq!(names, ["f", "g"], "{s:?}: {}", &whole[..cut]);
            }
            let first = whole.find("\"f\"").expect("the first call is there");
            assert!(s.finished_calls(&whole[..first + 10]).is_empty(), "{s:?}");
            assert_eq!(s.finished_calls("plain text"), vec![], "{s:?}");
        }
    }

    #[test]
    fn declarations_name_every_function_and_the_policy() {
        let t = ToolSpec {
            name: "get_weather".into(),
            description: "Weather.".into(),
            parameters: json!({"type": "object"}),
        };
        let text = ToolSyntax::Fenced.declarations(&[t], CallPolicy::Must);
        assert!(text.contains(
            "{\"name\": \"get_weather\", \"description\": \"Weather.\", \"parameters\": {\"type\": \"object\"}}"
        ));
        assert!(text.ends_with("You must call at least one function now."));
    }

    #[test]
    fn results_are_one_line_each() {
        let r = json!({"temperature_c": 21});
        assert_eq!(
            ToolSyntax::Fenced.results_text([("get_weather", &r)]),
            "```tool_result\n{\"name\": \"get_weather\", \"response\": {\"temperature_c\": 21}}\n```"
        );
        assert_eq!(
            ToolSyntax::Hermes.results_text([("get_weather", &r)]),
            "<tool_response>\n{\"name\": \"get_weather\", \"response\": {\"temperature_c\": 21}}\n</tool_response>"
        );
    }
}
