//! The BERT embedder reads a long input in bounded pieces: counting a text piece by piece
//! gives the count of encoding it whole, and the prefix an embedding is cut to holds exactly
//! the tokens that truncating the whole text would keep, while being a few KB of a 10 MB text.

mod common;

use common::Rng;
use gemd_engine::embed::pieces;
use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::Embedder;
use tokenizers::{Tokenizer, TruncationParams};

fn tokenizer() -> Tokenizer {
    let mut t = Tokenizer::from_file(common::embedding_model_dir().join("tokenizer.json")).unwrap();
    t.with_padding(None);
    t.with_truncation(None).unwrap();
    t
}

const FRAGMENTS: &[&str] = &[
    "hello",
    "World",
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    ".",
    ",",
    "!?",
    "don't",
    "123",
    "4.5",
    "你好",
    "世界",
    "。",
    "日本語の",
    "テキスト",
    "、",
    "안녕",
    "😀",
    "e\u{301}",
    "Ünïcödé",
    "ß",
    "\u{0}",
    "\u{7}",
    "\u{a0}",
    "\u{3000}",
    "—",
    "…",
    "fn(x) {",
    "}",
    "supercalifragilisticexpialidocious",
    "[MASK]",
    "[SEP]",
    "x",
    "ab",
    "\u{200b}",
];

#[test]
fn counting_in_pieces_equals_counting_whole() {
    let tok = tokenizer();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut texts = vec![
        common::document(40_000),
        "x".repeat(5_000),
        "你好世界".repeat(2_000),
        " \n\t".repeat(3_000) + "end",
        String::new(),
    ];
    texts.extend(
        (0..300).map(|i| (0..10 + i % 120).map(|_| FRAGMENTS[rng.next() % FRAGMENTS.len()]).collect::<String>()),
    );
    for text in &texts {
        let whole = tok.encode(text.as_str(), false).unwrap().len();
        for piece in [2, 7, 33, 500, pieces::PIECE_BYTES] {
            let mut sum = 0;
            let read = pieces::read(&tok, text, piece, |n| {
                sum += n;
                true
            })
            .unwrap();
            assert_eq!(read, text.len());
            assert_eq!(sum, whole, "pieces of {piece}: {text:?}");
        }
    }
}

#[test]
fn an_embedding_reads_a_short_prefix_with_the_same_tokens() {
    let embedder = BertEmbedder::load(BertEmbedderConfig::new(common::embedding_model_dir())).unwrap();
    let max = embedder.max_tokens();
    let mut truncating = tokenizer();
    truncating.with_truncation(Some(TruncationParams { max_length: max, ..Default::default() })).unwrap();
    let mut rng = Rng(7);
    let mut texts = vec![
        common::document(1 << 20),
        "word ".repeat(100_000),
        "你好".repeat(100_000),
        " ".repeat(200_000) + "late words at the end",
        "short text".into(),
    ];
    texts.extend((0..50).map(|_| (0..2_000).map(|_| FRAGMENTS[rng.next() % FRAGMENTS.len()]).collect::<String>()));
    for text in &texts {
        let cut = embedder.cut(text).unwrap();
        assert!(text.starts_with(cut));
        let ids = |t: &str| truncating.encode(t, true).unwrap().get_ids().to_vec();
        assert_eq!(ids(cut), ids(text), "{:?}", &text[..60.min(text.len())]);
        assert_eq!(embedder.count_tokens_capped(text, max).unwrap(), embedder.count_tokens(text).unwrap().min(max));
    }
    // A 10 MB document: the tokenizer sees one piece of it, not 10 MB.
    let big = common::document(10 << 20);
    assert!(
        embedder.cut(&big).unwrap().len() <= 2 * pieces::PIECE_BYTES,
        "{} bytes",
        embedder.cut(&big).unwrap().len()
    );
    // Whitespace makes no tokens: the cut goes as far as the tokens are.
    let padded = " ".repeat(1 << 20) + "late words";
    assert_eq!(embedder.cut(&padded).unwrap(), padded);
}
