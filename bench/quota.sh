#!/usr/bin/env bash
# Quota admission benchmark: starts a throwaway redis-server on a free loopback port and runs
# `gemd bench quota` against it (in-memory limiter, Redis limiter, and a plain Redis
# fixed-window counter as the peer; then auth + admit latency). Extra arguments go to gemd.
# Usage: bench/quota.sh [--seconds 5] [--concurrency 1,16,64]
set -euo pipefail
cd "$(dirname "$0")/.."
GEMD_BIN="${GEMD_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/gemd/target}/release/gemd}"
[ -x "$GEMD_BIN" ] || { echo "build gemd first: ./gemd.sh test, or cargo build --release -p gemd" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" >"$DIR/redis.log" 2>&1 &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "redis-server $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') on port $PORT"
"$GEMD_BIN" bench quota --redis-url "redis://127.0.0.1:$PORT/" "$@"
