"""The two statistics the bench reports: nearest-rank percentiles and medians."""

import statistics


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return None
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def med(values):
    """Median of the values that are there (None for none)."""
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None
