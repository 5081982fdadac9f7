//! From a rendered chat to token ids with this model's vocabulary. Template text is scanned
//! for the vocabulary's control tokens (`<|im_start|>`, `<start_of_turn>`, …), which become
//! their ids; everything else, template text between control tokens and all caller text,
//! is tokenised as plain text in maximal runs. That is how llama.cpp (and Hugging Face)
//! tokenise a whole rendered prompt, except that caller text is never searched for control
//! tokens, so a user who types `<|im_end|>` gets those characters, not the token. Plain
//! text goes to llama.cpp in bounded pieces (chunked.rs), so a prompt known to be too long,
//! or whose client left, stops early.

use std::collections::HashMap;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;

use super::chunked::{TextSplitter, Tokenizing};
use crate::api::{EngineError, PrepareBounds, TokenId};
use crate::chat::{ChatFormat, Segment};

/// The control tokens of a vocabulary, by their text.
pub struct ControlTokens {
    /// By first byte, longest first (the longest match wins, as in llama.cpp).
    by_first_byte: HashMap<u8, Vec<(Vec<u8>, TokenId)>>,
    by_text: HashMap<String, TokenId>,
}

impl ControlTokens {
    pub fn of(model: &LlamaModel) -> Self {
        let vocab = model.vocab();
        let mut by_first_byte: HashMap<u8, Vec<(Vec<u8>, TokenId)>> = HashMap::new();
        let mut by_text = HashMap::new();
        for id in 0..model.n_vocab() {
            let token = LlamaToken(id);
            if !vocab.attr(token).contains(LlamaTokenAttr::Control) {
                continue;
            }
            let text = vocab.token_to_piece(token, true, None);
            let Some(&first) = text.first() else { continue };
            by_text.insert(String::from_utf8_lossy(&text).into_owned(), id);
            by_first_byte.entry(first).or_default().push((text, id));
        }
        for list in by_first_byte.values_mut() {
            list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        }
        ControlTokens { by_first_byte, by_text }
    }

    /// The id of the control token spelled `text`.
    pub fn get(&self, text: &str) -> Option<TokenId> {
        self.by_text.get(text).copied()
    }

    fn match_at(&self, bytes: &[u8]) -> Option<(usize, TokenId)> {
        let candidates = self.by_first_byte.get(bytes.first()?)?;
        candidates.iter().find(|(text, _)| bytes.starts_with(text)).map(|(text, id)| (text.len(), *id))
    }
}

/// A rendered prompt cut into control tokens and runs of plain text.
#[derive(Debug, PartialEq, Eq)]
pub enum Unit {
    Token(TokenId),
    Text(String),
}

/// Cuts `segments` into units: control tokens found in template text, and the text between
/// them merged with adjacent caller text.
pub fn units(segments: &[Segment], controls: &ControlTokens) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let push_text = |out: &mut Vec<Unit>, text: &str| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(Unit::Text(t)) => t.push_str(text),
            _ => out.push(Unit::Text(text.to_string())),
        }
    };
    for seg in segments {
        match seg {
            Segment::Text(t) => push_text(&mut out, t),
            Segment::Control(t) => {
                let bytes = t.as_bytes();
                let (mut start, mut i) = (0, 0);
                while i < bytes.len() {
                    // Control tokens are whole UTF-8 strings, so a match starts on a char boundary.
                    match controls.match_at(&bytes[i..]).filter(|_| t.is_char_boundary(i)) {
                        Some((len, id)) => {
                            push_text(&mut out, &t[start..i]);
                            out.push(Unit::Token(id));
                            i += len;
                            start = i;
                        }
                        None => i += 1,
                    }
                }
                push_text(&mut out, &t[start..]);
            }
        }
    }
    out
}

/// Renders and tokenises `prompt` with `format` within `bounds` (see chunked.rs); `chunks`
/// counts the pieces of text handed to llama.cpp, also when tokenising stops early. BOS is
/// added when the vocabulary asks for it and the template did not write it already.
pub fn tokenize(
    model: &LlamaModel,
    controls: &ControlTokens,
    splitter: &TextSplitter,
    format: &ChatFormat,
    prompt: &crate::chat::ChatPrompt,
    bounds: &PrepareBounds,
    chunks: &mut u64,
) -> Result<Vec<TokenId>, EngineError> {
    let segments = format.render(prompt).map_err(|e| EngineError::InvalidPrompt(e.to_string()))?;
    let units = units(&segments, controls);
    drop(segments);
    if let (Some(limit), Some(per_token)) = (bounds.max_tokens, splitter.max_token_bytes()) {
        let at_least = lower_bound(&units, per_token);
        if at_least > limit {
            return Err(EngineError::PromptTooLongAtLeast { tokens: at_least, limit });
        }
    }
    let vocab = model.vocab();
    let bos = vocab.bos().0;
    let mut run = Tokenizing::new(model, splitter, bounds);
    if vocab.should_add_bos() && units.first() != Some(&Unit::Token(bos)) {
        run.push_token(bos);
    }
    let mut result = Ok(());
    for unit in &units {
        match unit {
            Unit::Token(id) => run.push_token(*id),
            Unit::Text(text) => result = run.push_text(text),
        }
        if result.is_err() {
            break;
        }
    }
    *chunks += run.chunks;
    result.and_then(|()| run.finish())
}

/// The fewest tokens `units` can be when no token stands for more than `per_token` bytes of
/// text: refuses a 15 MB prompt by its length, before any of it is tokenised.
fn lower_bound(units: &[Unit], per_token: usize) -> usize {
    units
        .iter()
        .map(|u| match u {
            Unit::Token(_) => 1,
            Unit::Text(t) => t.len().div_ceil(per_token),
        })
        .sum()
}

/// The special-token text of `token` (`<|im_end|>`), empty for none.
pub fn token_text(model: &LlamaModel, token: LlamaToken) -> String {
    if token.0 < 0 {
        return String::new();
    }
    String::from_utf8_lossy(&model.vocab().token_to_piece(token, true, None)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls(list: &[(&str, TokenId)]) -> ControlTokens {
        let mut c = ControlTokens { by_first_byte: HashMap::new(), by_text: HashMap::new() };
        for (text, id) in list {
            c.by_text.insert(text.to_string(), *id);
            c.by_first_byte.entry(text.as_bytes()[0]).or_default().push((text.as_bytes().to_vec(), *id));
        }
        for l in c.by_first_byte.values_mut() {
            l.sort_by_key(|b| std::cmp::Reverse(b.0.len()));
        }
        c
    }

    #[test]
    fn control_tokens_come_from_template_text_only() {
        let c = controls(&[("<|im_start|>", 1), ("<|im_end|>", 2)]);
        let segs = vec![
            Segment::Control("<|im_start|>user\n".into()),
            Segment::Text("hi <|im_end|>".into()),
            Segment::Control("<|im_end|>\n".into()),
        ];
        assert_eq!(
            units(&segs, &c),
            vec![Unit::Token(1), Unit::Text("user\nhi <|im_end|>".into()), Unit::Token(2), Unit::Text("\n".into())]
        );
    }

    #[test]
    fn the_longest_control_token_wins() {
        let c = controls(&[("<|a", 1), ("<|ab|>", 2)]);
        assert_eq!(
            units(&[Segment::Control("x<|ab|>é".into())], &c),
            vec![Unit::Text("x".into()), Unit::Token(2), Unit::Text("é".into())]
        );
    }
}
