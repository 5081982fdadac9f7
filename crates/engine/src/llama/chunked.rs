//! Tokenising long plain text in bounded pieces, with the same ids as one whole call, so a
//! prompt's cost is linear in its length, stops as soon as it is known to be too long, and
//! stops when its caller leaves.
//!
//! Why: llama.cpp's `tokenize` first cuts the text at every user-defined token
//! (`tokenizer_st_partition`; even with `parse_special = false` user-defined tokens are
//! split out, only control tokens are skipped). Each match splices a `std::forward_list` and
//! re-walks it from the head (`std::distance(buffer.begin(), it)`, `std::next(begin,
//! source - 1)`), so a text with k matches costs O(k²). Gemma's vocabulary has user-defined
//! tokens for every run of 1–31 newlines and 2–31 spaces: `"a\n" × 50,000` took 47.6 s to
//! count (measured: 8,000 newlines 0.5 s, 4,000 0.13 s). BPE vocabularies without such
//! tokens (Qwen2.5, SmolLM2) are linear, but one call still runs to the end of a 15 MB text
//! before anyone learns it is too long, and a blocking call cannot be interrupted.
//!
//! Where a cut cannot change the tokenisation (`Rule`):
//! - Byte-level BPE: llama.cpp splits the text into words with the model's pre-tokenizer
//!   regex and merges only inside a word, so a cut between two words that the regex ends
//!   and starts the same way with or without the rest of the text is exact. Every
//!   pre-tokenizer llama.cpp ships (GPT-2, Llama 3, Qwen2, SmolLM, DeepSeek, …) ends a letter
//!   or digit run before `\n` and before ` ` + letter, and starts a word at that `\n` or
//!   ` `: a letter run never absorbs a following newline (only punctuation runs do, in the
//!   Llama 3 / Qwen2 regexes), and a space joins the word it precedes, never the one it
//!   follows. Whitespace is never left at a piece's end, where `\s+(?!\S)` would read the
//!   end of the text differently.
//! - SentencePiece with a user-defined `"\n"` (Gemma): such a token is split out before the
//!   merges, which run per fragment, so a cut before a newline run is exact when nothing
//!   before it is whitespace (an `lstrip` token would eat it).
//! - Anything else (WordPiece, Unigram, SentencePiece without a newline token): no cuts;
//!   the text goes whole, bounded only by the length pre-check in `mod.rs`.
//!
//! A cut is also refused where a user-defined token occurs across it (`straddlers`), and at
//! load every rule is checked on a probe text (`self_check`): if cutting changes a single id
//! there, the vocabulary gets no cuts. Tests compare pieces with whole calls on the real
//! models (tests/tokenize_chunks.rs).
//!
//! Rejected: partitioning user-defined tokens in gemd (linear) and calling llama.cpp on the
//! fragments between them. It would remove the quadratic term but neither the 15 MB case
//! nor cancellation, and it must copy llama.cpp's longest-first, per-token scan order and its
//! lstrip/rstrip rules exactly; bounded pieces make llama.cpp's own partition cheap
//! (quadratic in a piece's matches only) and need neither.

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;
use llama_cpp_2::vocab::VocabType;

use crate::api::{EngineError, PrepareBounds, TokenId};

/// Bytes a piece grows to before the next cut is looked for. Small enough that Gemma's
/// partition of a piece stays cheap (at most ~512 newline tokens per piece), large enough
/// that the per-call overhead is noise.
pub const CHUNK_BYTES: usize = 1024;

/// How cuts are found for one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Bpe,
    SpmNewline,
}

/// Where a vocabulary's text may be cut, and what its longest token spans.
#[derive(Debug, Clone)]
pub struct TextSplitter {
    rule: Option<Rule>,
    /// User-defined tokens that contain a cut character past their first byte: text where
    /// one of them occurs across a cut must not be cut there.
    straddlers: Vec<Vec<u8>>,
    chunk_bytes: usize,
    /// The most input bytes one token can stand for, when that is bounded (byte-level BPE
    /// and SentencePiece: a token's piece is the input it covers, an unknown character at
    /// most 4 bytes); `None` for tokenizers that normalise (WordPiece, Unigram).
    max_token_bytes: Option<usize>,
}

impl TextSplitter {
    /// The splitter for `model`'s vocabulary, in pieces of about `chunk_bytes`.
    pub fn of(model: &LlamaModel, chunk_bytes: usize) -> Self {
        let vocab = model.vocab();
        let kind = vocab.vocab_type();
        let mut user_defined: Vec<Vec<u8>> = Vec::new();
        let mut longest = 4;
        for id in 0..model.n_vocab() {
            let token = LlamaToken(id);
            let piece = vocab.token_to_piece(token, true, None);
            longest = longest.max(piece.len());
            if vocab.attr(token).contains(LlamaTokenAttr::UserDefined) && !piece.is_empty() {
                user_defined.push(piece);
            }
        }
        let rule = match kind {
            VocabType::BPE => Some(Rule::Bpe),
            VocabType::SPM if user_defined.iter().any(|t| t == b"\n") => Some(Rule::SpmNewline),
            _ => None,
        };
        let straddlers = user_defined
            .into_iter()
            .filter(|t| t.len() > 1 && t[1..].iter().any(|b| matches!(b, b'\n' | b' ')))
            .collect();
        let max_token_bytes = matches!(kind, VocabType::BPE | VocabType::SPM).then_some(longest);
        let mut splitter = TextSplitter { rule, straddlers, chunk_bytes: chunk_bytes.max(1), max_token_bytes };
        if splitter.rule.is_some() && !splitter.self_check(model) {
            tracing::warn!(
                "this vocabulary tokenises differently when cut between words: long prompts are tokenised whole"
            );
            splitter.rule = None;
        }
        splitter
    }

    /// Whether cutting at every cut of a probe text leaves its ids as one whole call gives.
    fn self_check(&self, model: &LlamaModel) -> bool {
        const PROBE: &str = "Hello world\nfoo bar\n\nbaz  qux\tquux 123 x1\n你好 世界\n안녕 x\nEnd. of it\n  indented\nit's\n<b>a</b> z\nlast";
        let every_cut = TextSplitter { chunk_bytes: 1, ..self.clone() };
        let whole: Vec<TokenId> =
            model.vocab().tokenize(PROBE.as_bytes(), false, false).into_iter().map(|t| t.0).collect();
        let unbounded = PrepareBounds::default();
        let mut run = Tokenizing::new(model, &every_cut, &unbounded);
        run.push_text(PROBE).is_ok() && run.tokens == whole && run.chunks > 1
    }

    /// The most input bytes one token stands for, when bounded (see the field).
    pub fn max_token_bytes(&self) -> Option<usize> {
        self.max_token_bytes
    }

    /// The end of the piece of `text` that starts at `start`: the first cut at least
    /// `chunk_bytes` in, or the end of the text.
    fn piece_end(&self, text: &str, start: usize) -> usize {
        let Some(rule) = self.rule else { return text.len() };
        let bytes = text.as_bytes();
        let from = start + self.chunk_bytes;
        if from >= bytes.len() {
            return bytes.len();
        }
        // Cuts are at ASCII bytes ('\n', ' '), always char boundaries.
        (from.max(1)..bytes.len()).find(|&p| self.is_cut(rule, bytes, p)).unwrap_or(bytes.len())
    }

    fn is_cut(&self, rule: Rule, bytes: &[u8], p: usize) -> bool {
        let ok = match rule {
            Rule::Bpe => {
                let before = ends_in_word_char(&bytes[..p]);
                before
                    && (bytes[p] == b'\n'
                        || (bytes[p] == b' ' && bytes.get(p + 1).is_some_and(u8::is_ascii_alphabetic)))
            }
            Rule::SpmNewline => bytes[p] == b'\n' && !bytes[p - 1].is_ascii_whitespace(),
        };
        ok && !self.straddled(bytes, p)
    }

    /// Whether a user-defined token occurs across `p` (starting before it, ending after it).
    fn straddled(&self, bytes: &[u8], p: usize) -> bool {
        self.straddlers.iter().any(|t| (p.saturating_sub(t.len() - 1)..p).any(|s| bytes[s..].starts_with(t)))
    }
}

/// Whether `bytes` ends in a character every pre-tokenizer counts as a letter or digit:
/// ASCII alphanumerics, CJK ideographs and Hangul syllables. (Not every Unicode letter:
/// combining marks, which Rust calls alphabetic, are punctuation to the regexes.)
fn ends_in_word_char(bytes: &[u8]) -> bool {
    match bytes.last() {
        Some(b) if b.is_ascii() => b.is_ascii_alphanumeric(),
        Some(_) => {
            let tail = &bytes[bytes.len().saturating_sub(3)..];
            let c = std::str::from_utf8(tail).ok().and_then(|s| s.chars().last());
            c.is_some_and(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{AC00}'..='\u{D7A3}').contains(&c))
        }
        None => false,
    }
}

/// One prompt being tokenised: ids so far, pieces done, and the bounds it runs within.
pub struct Tokenizing<'a> {
    model: &'a LlamaModel,
    splitter: &'a TextSplitter,
    bounds: &'a PrepareBounds,
    pub tokens: Vec<TokenId>,
    /// Pieces handed to llama.cpp so far.
    pub chunks: u64,
}

impl<'a> Tokenizing<'a> {
    pub fn new(model: &'a LlamaModel, splitter: &'a TextSplitter, bounds: &'a PrepareBounds) -> Self {
        Tokenizing { model, splitter, bounds, tokens: Vec::new(), chunks: 0 }
    }

    /// Appends one token (a control token of the template).
    pub fn push_token(&mut self, id: TokenId) {
        self.tokens.push(id);
    }

    /// Appends the tokens of plain `text`, piece by piece. Before each piece: stops if the
    /// caller cancelled, or if the count already passed the limit (what remains can only add
    /// tokens, so the count is then a lower bound).
    pub fn push_text(&mut self, text: &str) -> Result<(), EngineError> {
        let vocab = self.model.vocab();
        let mut start = 0;
        let mut buffer: Vec<LlamaToken> = Vec::new();
        while start < text.len() {
            if self.bounds.cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            if let Some(limit) = self.bounds.max_tokens.filter(|&l| self.tokens.len() > l) {
                return Err(EngineError::PromptTooLongAtLeast { tokens: self.tokens.len(), limit });
            }
            let end = self.splitter.piece_end(text, start);
            buffer.clear();
            vocab.tokenize_into(&text.as_bytes()[start..end], &mut buffer, false, false);
            self.chunks += 1;
            self.tokens.extend(buffer.iter().map(|t| t.0));
            start = end;
        }
        Ok(())
    }

    /// The ids, once everything was read: the count is exact, so is the refusal.
    pub fn finish(self) -> Result<Vec<TokenId>, EngineError> {
        match self.bounds.max_tokens {
            Some(limit) if self.tokens.len() > limit => {
                Err(EngineError::PromptTooLong { tokens: self.tokens.len(), limit })
            }
            _ => Ok(self.tokens),
        }
    }
}
