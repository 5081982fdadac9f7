//! `gemd bench raw`: llama.cpp driven directly (no HTTP, no scheduler), one JSON line per
//! sequence count: the ceiling for gemd's serving overhead (bench/run.py --raw-cmd reads it).

use std::path::Path;

use crate::cli::RawBenchArgs;
use crate::model_ref::ModelRef;

pub fn run(args: RawBenchArgs, home: &Path) -> anyhow::Result<()> {
    let model = args.model.unwrap_or_else(ModelRef::default_model).resolve(home)?;
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get() as i32).unwrap_or(2));
    // About ten tokens per sentence with Gemma's vocabulary.
    let prompt = "The quick brown fox jumps over the lazy dog near the river bank. "
        .repeat(args.prompt_tokens.div_ceil(13).max(1));
    for n in args.sequences {
        let r =
            gemd_engine::llama::raw_bench::run(&model, threads, n, &prompt, args.generate, args.context, args.kernels)?;
        // One JSON object per line: bench/run.py --raw-cmd reads these.
        println!(
            "{{\"system\":\"raw llama.cpp\",\"kernels\":\"{}\",\"sequences\":{},\"prompt_tokens\":{},\"generated\":{},\"prefill_tokens_per_s\":{:.1},\"decode_tokens_per_s\":{:.1},\"ms_per_step\":{:.1}}}",
            args.kernels.name(), r.sequences, r.prompt_tokens, r.generated_per_sequence, r.prefill_tokens_per_s, r.decode_tokens_per_s, r.ms_per_step
        );
    }
    Ok(())
}
