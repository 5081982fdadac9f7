//! Reading a long text through a Hugging Face WordPiece (BERT) tokenizer in bounded pieces:
//! counting all of it, or finding the shortest prefix that holds the first `n` tokens, with
//! the memory of one piece instead of the whole text.
//!
//! Why: `tokenizers` keeps, per byte of input, an alignment pair in its normalised string,
//! plus per token an id, type id, offsets, word id, masks and the token's text. A 10 MB
//! `embedContent` encoded whole (and then truncated to 256 tokens) added 713 MB of RSS that
//! the allocator never returned. A cut by bytes alone (`max_tokens × longest token`) is not
//! exact: whitespace and control characters make no tokens, and one `[UNK]` stands for a
//! whole word of any length, so a fixed byte prefix can hold fewer tokens than the model
//! would read.
//!
//! Where a piece may end: BERT's pre-tokenizer splits at whitespace and punctuation only,
//! and its normaliser works per character, so a piece that ends just before an ASCII space,
//! tab or newline ends between two words, and its tokens are the whole text's. A piece with
//! no such byte in its second half drops its last word instead (that word may go on past
//! the piece) and the next piece starts at that word's first byte, which is a word start in
//! the whole text too (a word start depends only on the characters before it), unless an
//! added token (`[SEP]`, matched in the raw text before anything else) runs across it: then
//! the next piece starts at that token. A piece that is one single word grows until the
//! word ends. (Added tokens containing whitespace, which BERT vocabularies do not have,
//! could be cut before their space.)

use tokenizers::Tokenizer;

/// How many bytes a piece is at first.
pub const PIECE_BYTES: usize = 16 * 1024;

/// Reads `text` piece by piece (without special tokens); `take` gets each piece's token
/// count and says whether to go on. Returns the length of the prefix read when `take`
/// stopped (every word in it complete), or `text.len()`.
pub fn read(
    tokenizer: &Tokenizer,
    text: &str,
    piece_bytes: usize,
    mut take: impl FnMut(usize) -> bool,
) -> tokenizers::Result<usize> {
    let bytes = text.as_bytes();
    let added: Vec<String> =
        tokenizer.get_added_tokens_decoder().into_values().map(|t| t.content).filter(|c| c.len() > 1).collect();
    let mut start = 0;
    let mut size = piece_bytes.max(1);
    while start < text.len() {
        if start + size >= text.len() {
            let n = tokenizer.encode_fast(&text[start..], false)?.len();
            take(n);
            return Ok(text.len());
        }
        let hard = floor_char_boundary(text, start + size).max(ceil_char_boundary(text, start + 1));
        let half = (start + (size / 2).max(1)).min(hard);
        let (end, n) = match bytes[half..hard].iter().rposition(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            Some(i) => (half + i, tokenizer.encode_fast(&text[start..half + i], false)?.len()),
            None => {
                let encoding = tokenizer.encode(&text[start..hard], false)?;
                let words = encoding.get_word_ids();
                let Some(last) = words.last() else {
                    // Only whitespace and removed characters: no word to carry over.
                    start = hard;
                    continue;
                };
                let offsets = encoding.get_offsets();
                let mut keep = words.iter().position(|w| w == last).unwrap_or(0);
                let mut resume = start + offsets.get(keep).map_or(0, |o| o.0);
                // An added token (`[SEP]`) split by the piece's end reads as punctuation and
                // letters: resume at its start, keeping only the tokens before it.
                if let Some(s) = straddling(bytes, resume, &added) {
                    resume = s;
                    keep = offsets.iter().take_while(|o| start + o.0 < resume).count();
                }
                if keep == 0 {
                    size *= 2;
                    continue;
                }
                (resume, keep)
            }
        };
        size = piece_bytes.max(1);
        start = end;
        if !take(n) {
            return Ok(end);
        }
    }
    Ok(text.len())
}

/// The start of an occurrence of one of `added` that begins before `at` and ends after it.
fn straddling(bytes: &[u8], at: usize, added: &[String]) -> Option<usize> {
    added.iter().find_map(|t| {
        (at.saturating_sub(t.len() - 1)..at).find(|&s| bytes[s..].starts_with(t.as_bytes()) && s + t.len() > at)
    })
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}
