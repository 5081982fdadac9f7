//! A 10 MB input to the embedder costs the memory of the piece it reads, not of the whole
//! text: before, encoding it whole and truncating after added 713 MB of RSS that was never
//! returned. Alone in its test binary, so no other test's allocations move the numbers.

mod common;

use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::Embedder;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_ten_megabyte_input_adds_little_memory() {
    let embedder = BertEmbedder::load(BertEmbedderConfig::new(common::embedding_model_dir())).unwrap();
    // Weights in memory first: they are not the input's cost.
    embedder.embed(&["warm up".to_string()]).unwrap();
    let big = common::document(10 << 20);
    let before = rss_kib();
    for _ in 0..3 {
        let v = embedder.embed(&[big.clone(), big.clone()]).unwrap();
        assert_eq!(v.len(), 2);
        assert!(embedder.count_tokens(&big).unwrap() > 1_000_000);
        assert_eq!(embedder.count_tokens_capped(&big, 256).unwrap(), 256);
    }
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    // The two clones are 20 MB; generous room for the allocator on top.
    assert!(grown_mib < 120, "RSS grew by {grown_mib} MiB");
}
