#!/usr/bin/env bash
# gemd.sh — the two commands of the README.
#   ./gemd.sh serve [gemd serve flags...]   build gemd, fetch the default model if missing, serve it
#   ./gemd.sh test                          build and run every test (Rust, Python, Node, browser)
# Any other arguments are passed to the gemd binary (e.g. ./gemd.sh pull, ./gemd.sh models).
set -euo pipefail
cd "$(dirname "$0")"

source scripts/build-env.sh
# `target/release/gemd` is the documented binary path: point ./target at the shared cache.
[ -e target ] || ln -s "$CARGO_TARGET_DIR" target

build() { scripts/system-deps.sh; cargo build --release --locked -p gemd; }

cmd="${1:-serve}"
case "$cmd" in
  test)
    shift
    exec scripts/test.sh "$@"
    ;;
  *)
    build
    exec "$CARGO_TARGET_DIR/release/gemd" "$@"
    ;;
esac
