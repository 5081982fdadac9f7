"""gemd against llama.cpp's llama-server and llama-cpp-python's server, on one machine.

The command line and the run: bandwidth first (before any server runs), prompt sizes from
`gemd render`, every server started at once (they idle at ~0% CPU when not addressed; this is
checked and reported) and warmed up, then --runs runs in which the systems take turns test by
test in a rotating order, then the RSS bursts; each figure is the median of the runs. See
bench/README.md and docs/benchmarks.md.

No system is sent a pre-rendered prompt: gemd gets a plain user turn on its native API and the
peers get the same text as one user message on their OpenAI-compatible chat endpoints, so every
server renders it with the GGUF's own chat template.
"""

import argparse
import datetime
import os
import shlex
import shutil
import sys
import tempfile
import time

from . import workloads
from .gemd_render import token_counter
from .log import brief, log
from .paths import DEFAULT_GEMD, DEFAULT_MODEL, DEFAULT_OUT, DEFAULT_VENV
from .probes import bandwidth
from .probes.machine import machine_facts
from .probes.raw import merge_raw, run_raw
from .procfs import idle_cpu, rss_mb
from .prompts import Prompts, warm_up_text
from .report import files
from .report.markdown import render
from .report.summary import summarize
from .servers import CLASSES, SYSTEMS

TESTS = ["single", "concurrency", "prefix", "rss"]


def parser():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per test; medians are reported (default 3)")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--tests", default=",".join(TESTS),
                    help="comma-separated subset of " + ",".join(TESTS))
    ap.add_argument("--concurrency", default="1,4,8,16", help="stream counts (default 1,4,8,16)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=200)
    ap.add_argument("--prefix-tokens", type=int, default=2000)
    ap.add_argument("--prefix-max-tokens", type=int, default=16,
                    help="output tokens in the prefix test")
    ap.add_argument("--warm-requests", type=int, default=3,
                    help="warm requests per prefix per run")
    ap.add_argument("--bursts", type=int, default=5, help="bursts of 8 streams for the RSS test")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gemd", default=DEFAULT_GEMD)
    ap.add_argument("--gemd-batch-invariant", choices=["true", "false"], default="true",
                    help="gemd's [engine] batch_invariant (default true, as gemd ships)")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--venv", default=DEFAULT_VENV)
    ap.add_argument("--llama-server-ctx", type=int, default=32768,
                    help="llama-server -c: one unified KV pool, gemd's default kv_tokens "
                         "(default 32768)")
    ap.add_argument("--llama-cpp-python-ctx", type=int, default=4096)
    ap.add_argument("--no-ignore-eos", action="store_true",
                    help="let llama-server stop at end-of-turn too")
    ap.add_argument("--raw-cmd", help="shell command printing the raw in-process llama.cpp "
                                      "figures (one JSON object or text per line); run once per "
                                      "run")
    ap.add_argument("--bandwidth", type=float,
                    help="GB/s at --threads threads instead of measuring")
    ap.add_argument("--bytes-per-token", type=float,
                    help="bytes of weights read per decoded token, for the bandwidth bound "
                         "(default: the model file's size, right for a model whose output layer "
                         "is tied to token_embd)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=None)
    return ap


def parse_args(argv=None):
    """The options, lists split; returns (args, systems). Exits on an unknown system or a
    missing model."""
    ap = parser()
    args = ap.parse_args(argv)
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x]
    args.tests = [x for x in args.tests.split(",") if x]
    systems = [x for x in args.systems.split(",") if x]
    for name in systems:
        if name not in SYSTEMS:
            ap.error("unknown system " + name)
    if not os.path.exists(args.model):
        ap.error("model %s missing: run `%s pull`" % (args.model, args.gemd))
    return args, systems


def main(argv=None):
    args, systems = parse_args(argv)
    started = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="gemd-bench-")
    data = new_results(started, args, systems, argv)
    measure_bandwidth(data, args, workdir)
    prompts = sized_prompts(data, args)
    servers = {}
    try:
        start_servers(servers, systems, args, workdir)
        warm_up(servers)
        record_servers(data, servers)
        run_tests(data, servers, systems, prompts, args)
    finally:
        for srv in servers.values():
            srv.stop()
    report(data, systems, args, started)
    shutil.rmtree(workdir, ignore_errors=True)


def new_results(started, args, systems, argv):
    command = sys.argv if argv is None else ["bench/run.py"] + list(argv)
    return {"started": started, "command": " ".join(shlex.quote(a) for a in command),
            "machine": machine_facts(), "args": dict(vars(args)), "servers": {},
            "raw": {n: {"single": [], "concurrency": {}, "prefix": []} for n in systems}}


def measure_bandwidth(data, args, workdir):
    """The bandwidth and the single-stream bound it sets (measured before any server runs)."""
    bw = bandwidth.bandwidth(args, workdir)
    data["bandwidth"] = bw
    data["bytes_per_token"], data["bytes_per_token_source"] = bandwidth.bytes_per_token(args)
    data["bandwidth_bound_tok_s"] = bandwidth.bound_tok_s(bw, args.threads, data["bytes_per_token"])


def sized_prompts(data, args):
    """Prompts sized with gemd's own rendering of the request gemd is sent (prompts.py)."""
    prompts = Prompts(args.seed if args.seed is not None else time.time_ns())
    prompts.size(token_counter(args.gemd, args.model))
    log("prompt sizes from `gemd render --count-tokens`: %.2f tokens per word, %d tokens of "
        "template and closing sentence" % (prompts.tokens_per_word, prompts.story_fixed))
    data["calibration"] = {"tokens_per_word": prompts.tokens_per_word,
                           "story_fixed_tokens": prompts.story_fixed, "calibrated": True,
                           "source": "gemd render --count-tokens"}
    return prompts


def start_servers(servers, systems, args, workdir):
    """Starts every system, adding each to `servers` as it comes up (so a failure stops those
    already running)."""
    for name in systems:
        log("starting %s ..." % name)
        srv = CLASSES[name](args, workdir)
        servers[name] = srv
        srv.start()
        log("  %s on port %d, pid %d (log %s)" % (name, srv.port, srv.pid, srv.log_path))


def warm_up(servers):
    """One short request each: the first request pays page faults and lazy set-up."""
    for name, srv in servers.items():
        r = srv.generate(warm_up_text(), 8)
        if r.error:
            raise RuntimeError("%s warm-up failed: %s" % (name, r.error))


def record_servers(data, servers):
    for name, srv in servers.items():
        data["servers"][name] = {"version": srv.version, "pid": srv.pid,
                                 "command": " ".join(shlex.quote(c) for c in srv.command),
                                 "idle_cpu": idle_cpu(srv.pid, 1.0),
                                 "rss_after_load_mb": rss_mb(srv.pid)}


def run_tests(data, servers, systems, prompts, args):
    data["raw_runs"] = []
    for run in range(args.runs):
        order = systems[run % len(systems):] + systems[:run % len(systems)]
        log("run %d/%d, order %s" % (run + 1, args.runs, ", ".join(order)))
        if args.raw_cmd:
            log("  raw: %s" % args.raw_cmd)
            data["raw_runs"].append(run_raw(args.raw_cmd))
        one_run(data, servers, order, prompts, args)
    if "rss" in args.tests:
        for name in systems:
            x = workloads.rss_bursts(servers[name], prompts, args)
            data["raw"][name]["rss"] = x
            log("  rss    %-16s %s" % (name, brief(x)))


def one_run(data, servers, order, prompts, args):
    """Every test but the RSS bursts, each system in `order` in turn."""
    if "single" in args.tests:
        for name in order:
            x = workloads.single(servers[name], prompts, args)
            data["raw"][name]["single"].append(x)
            log("  single %-16s %s" % (name, brief(x)))
    if "concurrency" in args.tests:
        for n in args.concurrency:
            for name in order:
                x = workloads.concurrency(servers[name], prompts, args, n, sampler=(n == 8))
                data["raw"][name]["concurrency"].setdefault(str(n), []).append(x)
                log("  x%-2d    %-16s %s" % (n, name, brief(x)))
    if "prefix" in args.tests:
        for name in order:
            x = workloads.prefix(servers[name], prompts, args)
            data["raw"][name]["prefix"].append(x)
            log("  prefix %-16s %s" % (name, brief(x)))


def report(data, systems, args, started):
    """The summary and the tables: printed, and written with every figure to --out."""
    data["raw_cmd"] = args.raw_cmd
    data["raw_merged"] = merge_raw(data["raw_runs"]) if args.raw_cmd else []
    summary = summarize(data, systems, args)
    data["summary"] = summary
    md = render(data, summary, systems, args)
    print(md)
    base = files.write(args.out, started, md, data)
    log("wrote %s.md and %s.json" % (base, base))
