"""Progress lines on stderr (stdout carries only the results table)."""

import sys


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def brief(x):
    """One test's figures on one line: floats to one decimal, lists of floats as integers."""
    return " ".join("%s=%s" % (k, _value(v)) for k, v in x.items())


def _value(v):
    if isinstance(v, float):
        return "%.1f" % v
    if isinstance(v, list) and v and isinstance(v[0], float):
        return "[" + ", ".join("%.0f" % e for e in v) + "]"
    return v
