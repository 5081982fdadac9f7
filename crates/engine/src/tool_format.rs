//! How function calling is spelled in the text a Gemma model reads and writes. Gemma 3 has
//! no tool tokens, so gemd uses fenced blocks of one-line JSON objects:
//!
//! ````text
//! ```tool_call
//! {"name": "get_weather", "args": {"city": "Paris"}}
//! ```
//! ````
//!
//! A model turn that calls functions is exactly one such block (several lines for parallel
//! calls); a user turn carrying results holds a `tool_result` block of
//! `{"name": …, "response": …}` lines. The declarations go into the system text with the
//! instructions below. The same spelling is used for earlier turns in the history and for
//! the grammar that constrains new calls, so what the model reads is what it must write.

use serde_json::{json, Value};

/// Opens a block of calls; the grammar forces it in mode ANY and recognises it in AUTO.
pub const CALL_OPEN: &str = "```tool_call\n";
/// Separates two calls of one block.
pub const CALL_SEPARATOR: &str = "\n";
/// Closes a block of calls.
pub const CALL_CLOSE: &str = "\n```";
const RESULT_OPEN: &str = "```tool_result\n";

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// Whether the model must call, may call, or is only reminded of earlier calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPolicy {
    /// Text or calls.
    May,
    /// Calls only.
    Must,
}

/// The opening of one call line, up to where the arguments object starts.
pub fn call_head(name: &str) -> String {
    format!("{{\"name\": {}, \"args\": ", serde_json::to_string(name).expect("strings serialise"))
}

/// One call line, as the grammar lets the model write it.
pub fn call_line(name: &str, args: &Value) -> String {
    format!("{}{}}}", call_head(name), compact(args))
}

/// A model turn's block of calls.
pub fn calls_block<'a>(calls: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let lines: Vec<String> = calls.into_iter().map(|(name, args)| call_line(name, args)).collect();
    format!("{CALL_OPEN}{}{CALL_CLOSE}", lines.join(CALL_SEPARATOR))
}

/// A user turn's block of function results.
pub fn results_block<'a>(results: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let lines: Vec<String> = results.into_iter().map(|(name, response)| compact(&json!({"name": name, "response": response}))).collect();
    format!("{RESULT_OPEN}{}{CALL_CLOSE}", lines.join("\n"))
}

/// The system text that declares `tools` and says how to call them.
pub fn declarations(tools: &[ToolSpec], policy: CallPolicy) -> String {
    let mut out = String::from("You can call these functions (the arguments of each follow its JSON Schema):\n");
    for t in tools {
        out.push_str(&compact(&json!({"name": t.name, "description": t.description, "parameters": t.parameters})));
        out.push('\n');
    }
    out.push_str("\nTo call functions, answer with only this block, one line per call:\n");
    out.push_str(&format!("{CALL_OPEN}{{\"name\": \"<function name>\", \"args\": {{<arguments>}}}}{CALL_CLOSE}\n"));
    out.push_str("The results come back in a ```tool_result block.");
    out.push_str(match policy {
        CallPolicy::Must => " You must call at least one function now.",
        CallPolicy::May => " If no function helps, answer in plain text instead.",
    });
    out
}

/// JSON with `", "` and `": "` separators, the style constrained output is written in.
pub fn compact(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let items: Vec<String> = map.iter().map(|(k, v)| format!("{}: {}", serde_json::to_string(k).expect("keys serialise"), compact(v))).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// Reads a generated block of calls back: `(name, args)` per line, or `None` when the text is
/// not exactly one well-formed block.
pub fn parse_calls(text: &str) -> Option<Vec<(String, Value)>> {
    let body = text.strip_prefix(CALL_OPEN)?.strip_suffix(CALL_CLOSE)?;
    body.split(CALL_SEPARATOR)
        .map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            let name = v.get("name")?.as_str()?.to_string();
            let args = v.get("args")?.clone();
            args.is_object().then_some((name, args))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_reads_back_as_its_calls() {
        let a = json!({"city": "Paris", "days": [1, 2]});
        let b = json!({});
        let block = calls_block([("get_weather", &a), ("now", &b)]);
        assert_eq!(block, "```tool_call\n{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\", \"days\": [1, 2]}}\n{\"name\": \"now\", \"args\": {}}\n```");
        assert_eq!(parse_calls(&block), Some(vec![("get_weather".into(), a), ("now".into(), b)]));
    }

    #[test]
    fn anything_else_is_not_a_block() {
        assert_eq!(parse_calls("```tool_call\n{\"name\": \"f\"}\n```"), None);
        assert_eq!(parse_calls("```tool_call\n{\"name\": \"f\", \"args\": {}}"), None);
        assert_eq!(parse_calls("hello"), None);
    }

    #[test]
    fn declarations_name_every_function_and_the_policy() {
        let t = ToolSpec { name: "get_weather".into(), description: "Weather.".into(), parameters: json!({"type": "object"}) };
        let text = declarations(&[t], CallPolicy::Must);
        assert!(text.contains("{\"name\": \"get_weather\", \"description\": \"Weather.\", \"parameters\": {\"type\": \"object\"}}"));
        assert!(text.ends_with("You must call at least one function now."));
    }

    #[test]
    fn results_are_one_line_each() {
        let r = json!({"temperature_c": 21});
        assert_eq!(results_block([("get_weather", &r)]), "```tool_result\n{\"name\": \"get_weather\", \"response\": {\"temperature_c\": 21}}\n```");
    }
}
