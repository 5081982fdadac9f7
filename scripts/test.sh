#!/usr/bin/env bash
# Runs every test of gemd: Rust unit and integration tests (in-process server, real model), the
# Python and Node tests that drive the real SDKs and curl against a spawned gemd, and the
# browser tests of the web console (headless Chromium).
# Called by `./gemd.sh test` (the README's test command) and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-env.sh
export GEMD_HOME="${GEMD_HOME:-$HOME/.cache/gemd}"
VENV="${GEMD_TEST_VENV:-$HOME/.cache/gemd/venv}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: '$1' is required ($2)" >&2; exit 1; }; }
need cargo "install Rust with rustup"
need python3 "install Python 3 with pip"
scripts/system-deps.sh

echo "== format (rustfmt.toml)"
# rustup's minimal profile leaves out rustfmt and clippy.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  need rustup "install rustfmt and clippy for the Rust toolchain"
  rustup component add rustfmt clippy
fi
cargo fmt --check

echo "== build"
cargo build --release --locked -p gemd
[ -e target ] || ln -s "$CARGO_TARGET_DIR" target
GEMD_BIN="$CARGO_TARGET_DIR/release/gemd"

echo "== models (the default ones, SmolLM2 for the second-family tests, Gemma 3 for its tokenizer)"
"$GEMD_BIN" pull
"$GEMD_BIN" pull smollm2-135m-instruct
# crates/engine/tests/tokenize_chunks.rs: Gemma 3's user-defined whitespace tokens are what made
# llama.cpp's tokenizer quadratic; a fresh machine has no earlier session's copy of it.
"$GEMD_BIN" pull gemma-3-270m

echo "== services (redis-server, PostgreSQL) for the quota and store tests"
source scripts/services.sh

echo "== lint (clippy, every warning an error)"
cargo clippy --release --locked --workspace --all-targets -- -D warnings

echo "== rust tests"
cargo test --release --locked --workspace

echo "== python tests (real SDKs against a spawned gemd)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --disable-pip-version-check -q -r tests/python/requirements.txt
# llama-cpp-python builds from its sdist the first time (long; the wheel is cached in
# ~/.cache/pip after): only the library, portable, CPU only.
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF}" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
  "$VENV/bin/pip" install --disable-pip-version-check -q -r tests/python/requirements-upstreams.txt
GEMD_BIN="$GEMD_BIN" "$VENV/bin/python" -m pytest -q tests/python "$@"
# The benchmark's pure parts (report, prompt sizing, options, stream parsing): offline, seconds.
"$VENV/bin/python" -m unittest discover -q -s bench/tests

echo "== node tests (@google/genai against a spawned gemd)"
need npm "install Node.js 18+ with npm"
(cd tests/js && npm ci --silent && GEMD_BIN="$GEMD_BIN" npm test --silent)

echo "== browser tests (the web console in headless Chromium against a spawned gemd)"
# Screenshots of every step go to $GEMD_TEST_OUT (default tests/e2e/out); the Python venv
# runs the google-genai snippet that the playground's "Get code" shows.
(cd tests/e2e && npm ci --silent && GEMD_BIN="$GEMD_BIN" GEMD_TEST_PYTHON="$VENV/bin/python" npm test --silent)
echo "== all tests passed"
