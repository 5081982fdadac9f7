"""Issue 4's targets, checked on the medians: gemd against llama-server, the raw llama.cpp rates
of --raw-cmd, and its own single stream; memory against llama-server's and flat across bursts."""

from ..probes.raw import raw_rate


def targets(summary, data, systems, args):
    """[target, measured, met] rows; none when gemd was not measured."""
    if "gemd" not in systems:
        return []
    out = []
    g = summary["gemd"]
    ls = summary.get("llama-server")
    raw = data.get("raw_merged") or []

    def row(name, a, b, want, fmt="%.2f×"):
        if a is None or b is None or not b:
            return
        ratio = a / b
        met = "yes" if ratio >= want else "no (%.0f%% short)" % ((want - ratio) / want * 100)
        out.append([name, fmt % ratio, met])

    gs = g["single"]["decode_tok_s"]
    if ls:
        row("single-stream decode ≥ 1.0× llama-server", gs, ls["single"]["decode_tok_s"], 1.0)
    row("single-stream decode ≥ 0.95× raw llama.cpp (1 stream)", gs, raw_rate(raw, 1), 0.95)
    g8 = g["concurrency"].get(8, {}).get("agg_tok_s")
    if ls:
        row("8-stream total ≥ 1.0× llama-server", g8,
            ls["concurrency"].get(8, {}).get("agg_tok_s"), 1.0)
    row("8-stream total ≥ 0.9× raw llama.cpp (8 streams)", g8, raw_rate(raw, 8), 0.9)
    row("8-stream total ≥ 2× gemd single-stream decode", g8, gs, 2.0)
    if ls:
        out += _versus_llama_server(g, ls)
    r = g.get("rss") or {}
    if r.get("after_mb") and len(r["after_mb"]) > 1:
        flat = r["growth_mb"] <= max(10.0, 0.03 * r["after_mb"][0])
        out.append(["gemd RSS flat across %d bursts" % len(r["after_mb"]),
                    "%+.0f MB" % r["growth_mb"], "yes" if flat else "no"])
    return out


def _versus_llama_server(g, ls):
    out = []
    if g["prefix"]["warm_ttft_ms"] and ls["prefix"]["warm_ttft_ms"]:
        a, b = g["prefix"]["warm_ttft_ms"], ls["prefix"]["warm_ttft_ms"]
        out.append(["warm-prefix TTFT ≤ llama-server's", "%.0f ms vs %.0f ms" % (a, b),
                    "yes" if a <= b else "no (%.0f%% slower)" % ((a / b - 1) * 100)])
    a = g["concurrency"].get(8, {}).get("peak_rss_mb")
    b = ls["concurrency"].get(8, {}).get("peak_rss_mb")
    if a and b:
        out.append(["RSS serving 8 streams < llama-server's", "%.0f MB vs %.0f MB" % (a, b),
                    "yes" if a < b else "no (%.0f%% more)" % ((a / b - 1) * 100)])
    return out
