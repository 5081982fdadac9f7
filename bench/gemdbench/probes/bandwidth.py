"""Memory bandwidth and the single-stream decode bound it sets: a C read loop (bandwidth.c,
compiled at run time; 1 and --threads threads, best of 7), or --bandwidth, or engine.md's figures
where there is no C compiler. The bound is bandwidth ÷ bytes read per decoded token."""

import os
import shutil
import subprocess

from ..log import log

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bandwidth.c")

# Fallback bandwidth (GB/s) from engine.md's C read loop when no C compiler is available.
NOTE_BANDWIDTH = {1: 24.0, 2: 30.0}


def measure(threads, workdir):
    """GB/s by thread count (1 and `threads`), or None without a working C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    exe = os.path.join(workdir, "bw")
    if subprocess.run([cc, "-O3", "-march=native", "-pthread", "-o", exe, SOURCE]).returncode != 0:
        return None
    out = {}
    for t in sorted({1, threads}):
        res = subprocess.run([exe, str(t)], capture_output=True, text=True, timeout=300)
        out[t] = float(res.stdout.split()[0])
    return out


def bandwidth(args, workdir):
    """The bandwidth the bound uses and where it comes from (measured before any server runs)."""
    if args.bandwidth:
        return {"source": "given with --bandwidth", "gb_s": {args.threads: args.bandwidth}}
    log("measuring memory bandwidth ...")
    m = measure(args.threads, workdir)
    if m:
        return {"source": "C read loop, best of 7", "gb_s": m}
    return {"source": "shared/notes/engine.md (no C compiler)", "gb_s": NOTE_BANDWIDTH}


def bytes_per_token(args):
    """Bytes the CPU reads per decoded token, and why. Decoding one token reads every weight
    once, and in models whose output layer is tied to token_embd (Qwen2.5 0.5B, Gemma 3 270M)
    that is the whole file but its metadata and vocabulary strings (a few MB; engine.md measured
    246.6 MB for Gemma 3 270M's 253 MB file). A model with a separate output.weight reads one
    row of token_embd per token: give --bytes-per-token there."""
    if args.bytes_per_token:
        return args.bytes_per_token, "--bytes-per-token"
    return float(os.path.getsize(args.model)), "the model file's size"


def bound_tok_s(bw, threads, per_token):
    """The single-stream decode bound at `threads` threads (or the best measured count)."""
    gb = bw["gb_s"].get(threads) or max(bw["gb_s"].values())
    return gb * 1e9 / per_token
