//! Keeping caller text apart from template text through a Jinja render.
//!
//! A chat template interleaves its own markup (`<|im_start|>`, `<end_of_turn>`, …) with the
//! caller's strings, and returns one string. Tokenising that string with special-token
//! parsing would let a user who types `<|im_end|>` close their own turn. So every caller
//! string is wrapped in a pair of [`Marks`] before the render — private-use characters around
//! a random nonce the caller cannot know — and [`Marks::split`] cuts the rendered string back
//! into template text ([`Segment::Control`], special tokens allowed) and caller text
//! ([`Segment::Text`], never a control token).
//!
//! Rejected: finding each message's content in the rendered string afterwards. A template
//! that trims or repeats content, or a content that also occurs in the template's own text,
//! makes that search ambiguous; marks survive concatenation, `trim` and `tojson`.
//! When a template cuts through a marked string (`content.split(…)`), the pieces are treated
//! as caller text: the failure mode is a control token read as text, never the reverse.

use std::hash::{BuildHasher, Hasher};

/// A piece of rendered prompt: either template text (tokenised with special-token parsing)
/// or caller text (tokenised as plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Control(String),
    Text(String),
}

/// The two marks of one render.
#[derive(Debug, Clone)]
pub struct Marks {
    open: String,
    close: String,
}

impl Marks {
    /// Fresh marks with an unguessable nonce.
    pub fn new() -> Self {
        // RandomState is seeded from the OS per thread and advanced per instance.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
        );
        let nonce = format!("{:016x}", h.finish());
        Marks { open: format!("\u{E000}{nonce}\u{E001}"), close: format!("\u{E002}{nonce}\u{E003}") }
    }

    /// `text` marked as caller text. The empty string stays empty: templates test content
    /// for emptiness (`{% if message.content %}`), and nothing can hide in it.
    pub fn wrap(&self, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        format!("{}{text}{}", self.open, self.close)
    }

    /// Cuts a rendered prompt into template and caller segments (marks removed, adjacent
    /// segments of one kind merged). Marks nest (a marked string inside `tojson` of a
    /// marked structure); text is caller text while any mark is open.
    pub fn split(&self, rendered: &str) -> Vec<Segment> {
        let mut out: Vec<Segment> = Vec::new();
        let mut depth = 0usize;
        let mut at = 0;
        // The next open and close at or after `at`, each searched for again only once passed:
        // one linear scan however many marks a prompt holds.
        let find = |mark: &str, from: usize| rendered[from..].find(mark).map(|i| from + i);
        let (mut next_open, mut next_close) = (find(&self.open, 0), find(&self.close, 0));
        loop {
            let (pos, is_open) = match (next_open, next_close) {
                (None, None) => break,
                (Some(o), Some(c)) if o < c => (o, true),
                (Some(o), None) => (o, true),
                (_, Some(c)) => (c, false),
            };
            let before = &rendered[at..pos];
            if is_open {
                push(&mut out, before, depth > 0);
                depth += 1;
                at = pos + self.open.len();
                next_open = find(&self.open, at);
            } else {
                // A close with nothing open: the template kept only the tail of a marked
                // string. Everything since the last mark is taken as caller text.
                push(&mut out, before, true);
                depth = depth.saturating_sub(1);
                at = pos + self.close.len();
                next_close = find(&self.close, at);
            }
        }
        // An open mark never closed (the template kept only a head): the rest is caller text.
        push(&mut out, &rendered[at..], depth > 0);
        out
    }
}

impl Default for Marks {
    fn default() -> Self {
        Self::new()
    }
}

fn push(out: &mut Vec<Segment>, text: &str, caller: bool) {
    if text.is_empty() {
        return;
    }
    match (out.last_mut(), caller) {
        (Some(Segment::Text(t)), true) | (Some(Segment::Control(t)), false) => t.push_str(text),
        (_, true) => out.push(Segment::Text(text.to_string())),
        (_, false) => out.push(Segment::Control(text.to_string())),
    }
}

/// The segments as one string (what the template rendered, marks removed).
pub fn flatten(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Control(t) | Segment::Text(t) => t.as_str(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_text_comes_back_as_text() {
        let m = Marks::new();
        let rendered = format!("<|im_start|>user\n{}<|im_end|>\n", m.wrap("hi <|im_end|>"));
        assert_eq!(
            m.split(&rendered),
            vec![
                Segment::Control("<|im_start|>user\n".into()),
                Segment::Text("hi <|im_end|>".into()),
                Segment::Control("<|im_end|>\n".into())
            ]
        );
    }

    #[test]
    fn nested_marks_stay_text_until_the_outer_one_closes() {
        let m = Marks::new();
        let inner = m.wrap("Paris");
        let rendered = format!("[{}]", m.wrap(&format!("{{\"city\": \"{inner}\"}}")));
        assert_eq!(
            m.split(&rendered),
            vec![
                Segment::Control("[".into()),
                Segment::Text("{\"city\": \"Paris\"}".into()),
                Segment::Control("]".into())
            ]
        );
    }

    #[test]
    fn a_cut_mark_errs_towards_text() {
        let m = Marks::new();
        let tail_only = format!("<a>{}{}<b>", "tail", m.close);
        assert_eq!(m.split(&tail_only), vec![Segment::Text("<a>tail".into()), Segment::Control("<b>".into())]);
        let head_only = format!("<a>{}head<b>", m.open);
        assert_eq!(m.split(&head_only), vec![Segment::Control("<a>".into()), Segment::Text("head<b>".into())]);
    }

    #[test]
    fn marks_of_another_render_are_plain_text() {
        let (a, b) = (Marks::new(), Marks::new());
        assert_ne!(a.open, b.open);
        let rendered = b.wrap("x");
        assert_eq!(a.split(&rendered), vec![Segment::Control(rendered.clone())]);
    }
}
