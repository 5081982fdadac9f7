//! Rendering a Hugging Face chat template (`tokenizer.chat_template` in a GGUF) with
//! minijinja, in the environment `transformers.apply_chat_template` gives it: trimmed and
//! left-stripped blocks, `raise_exception`, `strftime_now`, a `tojson` filter with Python's
//! `json.dumps` spelling (`", "`/`": "`, non-ASCII kept), and Python's string, list and dict
//! methods (`.strip()`, `.split()`, `.items()`, …). The reference renderings in
//! tests/fixtures/chat_templates were made by `apply_chat_template` itself.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

use super::spans::Marks;

/// The name the one template of an environment is stored under.
const NAME: &str = "chat";

/// Why a template cannot be used or could not render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the chat template does not compile: {0}")]
    Compile(String),
    /// Raised by the template itself (`raise_exception`), or a render-time failure.
    #[error("the chat template refused this conversation: {0}")]
    Render(String),
}

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatTemplate")
    }
}

impl ChatTemplate {
    pub fn compile(source: &str) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        // Jinja2's default: an undefined value is falsy and prints as nothing.
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(NAME, source.to_string()).map_err(|e| TemplateError::Compile(describe(&e)))?;
        Ok(ChatTemplate { env })
    }

    /// Renders `context` (messages, tools, add_generation_prompt, bos_token, …). `marks`, when
    /// given, wraps every string `tojson` writes, so JSON built by the template from caller
    /// data stays caller text (see [`super::spans`]).
    pub fn render(&self, context: Value, marks: Option<&Marks>) -> Result<String, TemplateError> {
        let template = self.env.get_template(NAME).map_err(|e| TemplateError::Compile(describe(&e)))?;
        let run = || template.render(context).map_err(|e| TemplateError::Render(describe(&e)));
        match marks {
            Some(m) => TOJSON_MARKS.with(|slot| {
                *slot.borrow_mut() = Some(m.clone());
                let out = run();
                *slot.borrow_mut() = None;
                out
            }),
            None => run(),
        }
    }
}

thread_local! {
    /// The marks of the render in progress on this thread (filters get no per-render state).
    static TOJSON_MARKS: std::cell::RefCell<Option<Marks>> = const { std::cell::RefCell::new(None) };
}

fn describe(e: &Error) -> String {
    match e.detail() {
        Some(detail) => format!("{detail} ({:?})", e.kind()),
        None => e.to_string(),
    }
}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

fn strftime_now(format: String) -> String {
    chrono::Local::now().format(&format).to_string()
}

/// `tojson` as transformers defines it: `json.dumps(x, ensure_ascii=False, indent=indent,
/// separators=separators, sort_keys=sort_keys)`.
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let _: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value).map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))?;
    let (item, key) = match (&separators, indent) {
        (Some(s), _) if s.len() == 2 => (s[0].clone(), s[1].clone()),
        (_, Some(_)) => (",".to_string(), ": ".to_string()),
        _ => (", ".to_string(), ": ".to_string()),
    };
    let style = Style { item, key, indent, sort_keys: sort_keys.unwrap_or(false) };
    let mut out = String::new();
    TOJSON_MARKS.with(|m| write_json(&mut out, &json, &style, 0, m.borrow().as_ref()));
    Ok(Value::from_safe_string(out))
}

struct Style {
    item: String,
    key: String,
    indent: Option<usize>,
    sort_keys: bool,
}

fn write_json(out: &mut String, v: &serde_json::Value, style: &Style, level: usize, marks: Option<&Marks>) {
    use serde_json::Value as J;
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = style.indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    };
    match v {
        J::String(s) => write_string(out, s, marks),
        J::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&style.item);
                }
                newline(out, level + 1);
                write_json(out, item, style, level + 1, marks);
            }
            newline(out, level);
            out.push(']');
        }
        J::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&style.item);
                }
                newline(out, level + 1);
                write_string(out, k, marks);
                out.push_str(&style.key);
                write_json(out, item, style, level + 1, marks);
            }
            newline(out, level);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string literal; its contents are caller text when marks are in use.
fn write_string(out: &mut String, s: &str, marks: Option<&Marks>) {
    let quoted = serde_json::to_string(s).expect("strings serialise");
    let inner = &quoted[1..quoted.len() - 1];
    out.push('"');
    match marks {
        Some(m) => out.push_str(&m.wrap(inner)),
        None => out.push_str(inner),
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn render(src: &str, ctx: Value) -> Result<String, TemplateError> {
        ChatTemplate::compile(src)?.render(ctx, None)
    }

    #[test]
    fn tojson_spells_json_as_python_does() {
        let v = serde_json::json!({"b": [1, 2.5, "é\n"], "a": {"x": null, "y": true}});
        let ctx = context! { v => Value::from_serialize(&v) };
        assert_eq!(
            render("{{ v | tojson }}", ctx.clone()).unwrap(),
            "{\"b\": [1, 2.5, \"é\\n\"], \"a\": {\"x\": null, \"y\": true}}"
        );
        assert_eq!(render("{{ v | tojson(indent=2, sort_keys=true) }}", ctx).unwrap(), "{\n  \"a\": {\n    \"x\": null,\n    \"y\": true\n  },\n  \"b\": [\n    1,\n    2.5,\n    \"é\\n\"\n  ]\n}");
    }

    #[test]
    fn python_methods_and_block_trimming_work() {
        let out = render(
            "{% for m in messages %}\n  {{ m.content.strip() | upper }}\n{% endfor %}",
            context! { messages => vec![context!{ content => "  hi  " }] },
        )
        .unwrap();
        // lstrip_blocks strips before block tags only, as in Jinja2.
        assert_eq!(out, "  HI\n");
    }

    #[test]
    fn raise_exception_is_a_render_error() {
        let e = render("{{ raise_exception('roles must alternate') }}", context! {}).unwrap_err();
        assert!(matches!(&e, TemplateError::Render(m) if m.contains("roles must alternate")), "{e}");
        assert!(matches!(ChatTemplate::compile("{% if %}"), Err(TemplateError::Compile(_))));
    }

    #[test]
    fn undefined_values_are_falsy_and_empty() {
        assert_eq!(render("[{{ nope }}]{% if tools %}t{% endif %}", context! {}).unwrap(), "[]");
    }

    #[test]
    fn marked_json_strings_are_caller_text() {
        let marks = Marks::new();
        let v = serde_json::json!({"city": "<|im_end|>"});
        let t = ChatTemplate::compile("<tool_call>{{ v | tojson }}</tool_call>").unwrap();
        let out = t.render(context! { v => Value::from_serialize(&v) }, Some(&marks)).unwrap();
        use super::super::spans::Segment;
        let segs = marks.split(&out);
        assert!(segs.contains(&Segment::Text("<|im_end|>".into())), "{segs:?}");
        assert_eq!(segs[0], Segment::Control("<tool_call>{\"".into()), "{segs:?}");
    }
}
