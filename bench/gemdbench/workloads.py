"""The tests a run makes of one server, each returning a dict of figures (or {"error": …}):
single stream, N concurrent streams, a shared prefix cold and warm, and bursts of 8 streams
for RSS growth. See docs/benchmarks.md for what each figure means."""

import threading
import time

from .procfs import RssSampler, rss_mb
from .stats import med, pct


def burst(server, texts, max_tokens):
    """Start len(texts) streams at once (behind a barrier); return (results, wall seconds)."""
    results = [None] * len(texts)
    gate = threading.Barrier(len(texts) + 1)

    def worker(i):
        gate.wait()
        results[i] = server.generate(texts[i], max_tokens)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


def errors_of(results):
    return [r.error for r in results if r.error]


def single(server, prompts, args):
    r = server.generate(prompts.story(args.prompt_tokens), args.max_tokens)
    if r.error:
        return {"error": r.error}
    return {"ttft_ms": r.ttft * 1000, "decode_tok_s": r.decode_tps, "tokens": r.tokens,
            "prompt_tokens": r.prompt_tokens, "finish": r.finish}


def concurrency(server, prompts, args, n, sampler=None):
    """`n` streams at once; with `sampler`, the peak RSS while they run."""
    texts = [prompts.story(args.prompt_tokens) for _ in range(n)]
    if sampler:
        with RssSampler(server.pid) as s:
            results, wall = burst(server, texts, args.max_tokens)
        peak = s.peak
    else:
        results, wall = burst(server, texts, args.max_tokens)
        peak = None
    errs = errors_of(results)
    ok = [r for r in results if not r.error]
    out = {"n": n, "errors": len(errs), "wall_s": wall}
    if errs:
        out["error"] = errs[0]
    if ok:
        total = sum(r.tokens for r in ok)
        out.update({"total_tokens": total, "agg_tok_s": total / wall,
                    "p50_latency_s": pct([r.latency for r in ok], 50),
                    "p95_latency_s": pct([r.latency for r in ok], 95),
                    "p50_ttft_ms": pct([r.ttft * 1000 for r in ok], 50),
                    "min_tokens": min(r.tokens for r in ok)})
    if peak:
        out["peak_rss_mb"] = peak
    return out


def prefix(server, prompts, args):
    """A new prefix: one cold request, then --warm-requests with new short suffixes."""
    shared = prompts.prefix(args.prefix_tokens)
    cold = server.generate(shared + prompts.suffix(), args.prefix_max_tokens)
    if cold.error:
        return {"error": cold.error}
    warm = [server.generate(shared + prompts.suffix(), args.prefix_max_tokens)
            for _ in range(args.warm_requests)]
    errs = errors_of(warm)
    if errs:
        return {"error": errs[0]}
    return {"cold_ttft_ms": cold.ttft * 1000, "warm_ttft_ms": med([w.ttft * 1000 for w in warm]),
            "prompt_tokens": cold.prompt_tokens}


def rss_bursts(server, prompts, args):
    """--bursts bursts of 8 streams: RSS after each (is it flat?) and the peak during each."""
    idle = rss_mb(server.pid)
    after, peaks = [], []
    for _ in range(args.bursts):
        texts = [prompts.story(args.prompt_tokens) for _ in range(8)]
        with RssSampler(server.pid) as s:
            results, _ = burst(server, texts, args.max_tokens)
        errs = errors_of(results)
        if errs:
            return {"error": errs[0]}
        peaks.append(s.peak)
        time.sleep(0.5)
        after.append(rss_mb(server.pid))
    return {"idle_mb": idle, "peak_mb": peaks, "after_mb": after,
            "growth_mb": (after[-1] - after[0]) if len(after) > 1 else 0.0}
