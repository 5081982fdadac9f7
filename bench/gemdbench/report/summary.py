"""Medians over runs of every figure, per system and test; failed runs are counted apart, with
their first error kept."""

from ..stats import med

CONCURRENCY_FIGURES = ("agg_tok_s", "p50_latency_s", "p95_latency_s", "p50_ttft_ms",
                       "peak_rss_mb", "min_tokens")


def summarize(data, systems, args):
    s = {}
    for name in systems:
        d = data["raw"][name]
        s[name] = {"single": _single(d["single"]),
                   "concurrency": {n: _concurrency(d["concurrency"].get(str(n), []))
                                   for n in args.concurrency},
                   "prefix": _prefix(d["prefix"]),
                   "rss": d.get("rss")}
    return s


def _ok(runs):
    return [x for x in runs if "error" not in x]


def _errors(runs):
    return [x["error"] for x in runs if "error" in x][:1]


def _single(runs):
    ok = _ok(runs)
    return {"ttft_ms": med([x["ttft_ms"] for x in ok]),
            "decode_tok_s": med([x["decode_tok_s"] for x in ok]),
            "tokens": med([x["tokens"] for x in ok]),
            "prompt_tokens": med([x["prompt_tokens"] for x in ok]),
            "ok_runs": len(ok),
            "errors": _errors(runs)}


def _concurrency(runs):
    ok = _ok(runs)
    out = {k: med([x.get(k) for x in ok]) for k in CONCURRENCY_FIGURES}
    out["ok_runs"] = len(ok)
    out["errors"] = _errors(runs)
    return out


def _prefix(runs):
    ok = _ok(runs)
    return {"cold_ttft_ms": med([x["cold_ttft_ms"] for x in ok]),
            "warm_ttft_ms": med([x["warm_ttft_ms"] for x in ok]),
            "prompt_tokens": med([x["prompt_tokens"] for x in ok]),
            "ok_runs": len(ok),
            "errors": _errors(runs)}
