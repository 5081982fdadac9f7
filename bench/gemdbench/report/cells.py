"""Markdown table cells and tables."""


def f(v, fmt="%.1f"):
    """A figure in `fmt`, or an en dash for a figure there is none of."""
    return "–" if v is None else fmt % v


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def runs_ok(x, runs):
    """`ok/runs`, with the first error's start when a run failed."""
    return "%d/%d" % (x["ok_runs"], runs) + (" (%s)" % x["errors"][0][:80] if x["errors"] else "")
