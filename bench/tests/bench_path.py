"""Puts bench/ on the import path, so the tests import gemdbench as bench/run.py does."""

import os
import sys

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(BENCH_DIR, "results")
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)
