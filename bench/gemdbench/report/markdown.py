"""The markdown a run prints and writes: the set-up (machine, model, servers, idle CPU,
bandwidth bound), one table per test, the raw llama.cpp rows and the targets."""

import os

from .cells import f, runs_ok, table
from .targets import targets


def render(data, summary, systems, args):
    sections = [_header(data, systems, args)]
    if "single" in args.tests:
        sections.append(_single(data, summary, systems, args))
    if "concurrency" in args.tests:
        sections.append(_concurrency(summary, systems, args))
    if "prefix" in args.tests:
        sections.append(_prefix(summary, systems, args))
    if "rss" in args.tests or "concurrency" in args.tests:
        sections.append(_memory(data, summary, systems, args))
    if data.get("raw_cmd"):
        sections.append(_raw(data))
    t = targets(summary, data, systems, args)
    if t:
        sections.append(["\n## Targets (issue 4)\n", table(["target", "measured", "met"], t)])
    return "\n".join(line for section in sections for line in section) + "\n"


def _header(data, systems, args):
    m = data["machine"]
    servers = data["servers"]
    idle = ", ".join("%s %.1f%%" % (n, servers[n]["idle_cpu"] * 100) for n in systems)
    bw = data["bandwidth"]
    per_thread = ", ".join("%s thread(s) %.1f" % (k, v) for k, v in sorted(bw["gb_s"].items()))
    return [
        "# gemd benchmark, %s" % data["started"],
        "",
        "Machine: %s CPUs (`nproc`), %s, %s RAM, Linux %s; load average at start %s." %
        (m["nproc"], m["cpu"], m["memory"], m["kernel"], " ".join(m["loadavg_at_start"])),
        "Model: `%s`; %d threads in every system; %d run(s), alternating systems, medians shown; "
        "%d output tokens, temperature 0." % (os.path.basename(args.model), args.threads,
                                              args.runs, args.max_tokens),
        "Command: `%s`" % data["command"],
        "",
        table(["system", "version", "command"],
              [[n, servers[n]["version"], "`%s`" % servers[n]["command"]] for n in systems]),
        "",
        "CPU use of each server while idle (all run at once, each is measured while the others "
        "idle): %s." % idle,
        "",
        "Memory bandwidth (%s): %s GB/s → single-stream bound %.1f tok/s at %d thread(s) "
        "(%.1f MB read per token: %s)." % (bw["source"], per_thread, data["bandwidth_bound_tok_s"],
                                          args.threads, data["bytes_per_token"] / 1e6,
                                          data["bytes_per_token_source"]),
    ]


def _single(data, summary, systems, args):
    bound = data["bandwidth_bound_tok_s"]
    rows = []
    for n in systems:
        x = summary[n]["single"]
        share = x["decode_tok_s"] / bound * 100 if x["decode_tok_s"] else None
        rows.append([n, f(x["prompt_tokens"], "%d"), f(x["ttft_ms"], "%.0f"), f(x["decode_tok_s"]),
                     f(x["tokens"], "%d"), f(share, "%.0f%%"), runs_ok(x, args.runs)])
    return ["\n## Single stream (~%d-token prompt, %d output tokens)\n" %
            (args.prompt_tokens, args.max_tokens),
            table(["system", "prompt tokens", "TTFT ms", "decode tok/s", "output tokens",
                   "of bandwidth bound", "runs ok"], rows)]


def _concurrency(summary, systems, args):
    rows = []
    for n in systems:
        for c in args.concurrency:
            x = summary[n]["concurrency"][c]
            rows.append([n, c, f(x["agg_tok_s"]), f(x["p50_latency_s"], "%.2f"),
                         f(x["p95_latency_s"], "%.2f"), f(x["p50_ttft_ms"], "%.0f"),
                         f(x["min_tokens"], "%d"), runs_ok(x, args.runs)])
    return ["\n## Concurrent streams (each ~%d-token prompt, %d output tokens)\n" %
            (args.prompt_tokens, args.max_tokens),
            table(["system", "streams", "total output tok/s", "p50 latency s", "p95 latency s",
                   "p50 TTFT ms", "min tokens/request", "runs ok"], rows)]


def _prefix(summary, systems, args):
    rows = []
    for n in systems:
        x = summary[n]["prefix"]
        cold, warm = x["cold_ttft_ms"], x["warm_ttft_ms"]
        speed_up = cold / warm if cold and warm else None
        rows.append([n, f(x["prompt_tokens"], "%d"), f(cold, "%.0f"), f(warm, "%.0f"),
                     f(speed_up, "%.1f×"), runs_ok(x, args.runs)])
    return ["\n## Shared ~%d-token prefix: TTFT cold vs warm (new short suffix, median of %d warm "
            "requests)\n" % (args.prefix_tokens, args.warm_requests),
            table(["system", "prompt tokens", "cold TTFT ms", "warm TTFT ms", "speed-up",
                   "runs ok"], rows)]


def _memory(data, summary, systems, args):
    rows = []
    for n in systems:
        r = summary[n]["rss"] or {}
        peak8 = (summary[n]["concurrency"].get(8, {}).get("peak_rss_mb")
                 if 8 in args.concurrency else None)
        if "error" in r:
            rows.append([n, "–", f(peak8, "%.0f"), "error: " + r["error"][:80], "–"])
            continue
        peak = peak8 or (max(r["peak_mb"]) if r.get("peak_mb") else None)
        rows.append([n, f(data["servers"][n].get("rss_after_load_mb"), "%.0f"), f(peak, "%.0f"),
                     " → ".join("%.0f" % v for v in r.get("after_mb", [])) or "–",
                     f(r.get("growth_mb"), "%+.0f")])
    return ["\n## Resident memory (VmRSS)\n",
            table(["system", "MB after load and warm-up", "peak MB, 8 streams",
                   "after each burst of 8 streams, MB", "growth MB"], rows)]


def _raw(data):
    rows = data["raw_merged"]
    keys = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    head = "\n## Raw in-process llama.cpp (`%s`, median of %d runs)\n" % (data["raw_cmd"],
                                                                        len(data["raw_runs"]))
    if not keys:
        return [head, "(no output)"]
    cells = [[("%.1f" % r[k]) if isinstance(r.get(k), float) else r.get(k, "") for k in keys]
             for r in rows]
    return [head, table(keys, cells)]
