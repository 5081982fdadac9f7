//! `gemd bench embed`: the embedder driven directly (no HTTP), texts per second for each batch
//! size. The texts are short sentences (10 to 20 word pieces, like search queries and
//! document snippets); each batch is one `Embedder::embed` call, as one `batchEmbedContents`
//! request is.

use std::time::Instant;

use anyhow::Context;
use gemd_engine::embed::{BertEmbedder, BertEmbedderConfig};
use gemd_engine::Embedder;

use crate::cli::EmbedBenchArgs;
use crate::pull::ensure_embedding_model;

const SUBJECTS: &[&str] = &[
    "The river",
    "A small robot",
    "Our quarterly report",
    "The old lighthouse",
    "Every database index",
    "This recipe",
];
const PREDICATES: &[&str] = &[
    "explains how tides shape the northern coastline",
    "was rewritten to handle twice the traffic",
    "needs fresh basil, garlic and a slow oven",
    "guided ships through fog for two hundred years",
    "trades write speed for much faster lookups",
];

/// The `i`-th benchmark sentence (all distinct, so nothing is cached anywhere).
fn sentence(i: usize) -> String {
    format!("{} {} (note {i}).", SUBJECTS[i % SUBJECTS.len()], PREDICATES[(i / SUBJECTS.len()) % PREDICATES.len()])
}

pub fn run(args: EmbedBenchArgs, home: &std::path::Path) -> anyhow::Result<()> {
    let dir = match args.model {
        Some(d) => d,
        None => ensure_embedding_model(home, false)?,
    };
    let embedder =
        BertEmbedder::load(BertEmbedderConfig::new(&dir)).with_context(|| format!("loading {}", dir.display()))?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("embedder {} ({} dimensions), {threads} CPU threads", embedder.name(), embedder.dimension());
    let mut next = 0;
    for batch in args.batches {
        let mut take = |n: usize| {
            let texts: Vec<String> = (next..next + n).map(sentence).collect();
            next += n;
            texts
        };
        embedder.embed(&take(batch))?; // warm-up: page in weights, size the allocator
        let tokens_per_text = {
            let sample = take(batch.min(16));
            sample.iter().map(|t| embedder.count_tokens(t)).sum::<Result<usize, _>>()? as f64 / sample.len() as f64
        };
        let (mut texts, mut calls) = (0usize, 0usize);
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < args.seconds || calls == 0 {
            embedder.embed(&take(batch))?;
            texts += batch;
            calls += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "embed: batch={batch} texts={texts} tokens_per_text={tokens_per_text:.1} texts_per_s={:.1} ms_per_batch={:.1}",
            texts as f64 / secs,
            secs * 1000.0 / calls as f64
        );
    }
    Ok(())
}
