"""The results files of a run: `<out>/<started>.md` (the printed tables) and `<started>.json`
(settings, machine facts, every run's figures, the summary)."""

import json
import os


def write(out_dir, started, md, data):
    """Writes both files; returns their common path without the extension."""
    base = os.path.join(out_dir, started)
    with open(base + ".md", "w") as fh:
        fh.write(md)
    with open(base + ".json", "w") as fh:
        json.dump(data, fh, indent=1, default=str)
    return base


def load(path):
    """A results JSON as the report reads it: stream counts as integers again (JSON made them
    strings in the summary)."""
    with open(path) as fh:
        data = json.load(fh)
    for s in data.get("summary", {}).values():
        s["concurrency"] = {int(k): v for k, v in s["concurrency"].items()}
    return data
