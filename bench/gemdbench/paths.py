"""Where the bench lives and where it finds gemd, the model and the peers by default."""

import os

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH_DIR)
HOME = os.path.expanduser("~")
DEFAULT_VENV = os.environ.get("GEMD_BENCH_VENV", os.path.join(HOME, ".cache/gemd/bench-venv"))
DEFAULT_GEMD = os.path.join(HOME, ".cache/gemd/target/release/gemd")
DEFAULT_MODEL = os.path.join(HOME, ".cache/gemd/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
DEFAULT_OUT = os.path.join(BENCH_DIR, "results")
