"""The raw in-process llama.cpp figures (--raw-cmd, e.g. `gemd bench raw`): every stdout line is
kept; a line that is a JSON object becomes a table row, and one with a stream count and a total
decode rate feeds the target rows."""

import json
import subprocess

from ..paths import REPO
from ..stats import med

STREAM_KEYS = ("streams", "sequences", "n")
RATE_KEYS = ("total_tok_s", "agg_tok_s", "tok_s", "decode_tok_s", "decode_tokens_per_s")


def run_raw(cmd):
    """Runs `cmd` (a shell command) in the repository once; its lines, parsed where JSON."""
    res = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=REPO, timeout=1800)
    parsed = []
    for line in (l for l in res.stdout.splitlines() if l.strip()):
        try:
            v = json.loads(line)
            parsed.append(v if isinstance(v, dict) else {"line": line})
        except ValueError:
            parsed.append({"line": line})
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
            if _is_number(v) and k not in STREAM_KEYS + ("threads",):
                row[k] = med([x.get(k) for x in rows if isinstance(x.get(k), (int, float))])
        out.append(row)
    return out


def raw_rate(raw, streams):
    """The total decode rate of the merged row for `streams` streams, if there is one."""
    for row in raw:
        if next((row[k] for k in STREAM_KEYS if k in row), None) == streams:
            for k in RATE_KEYS:
                if isinstance(row.get(k), (int, float)):
                    return row[k]
    return None


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)
