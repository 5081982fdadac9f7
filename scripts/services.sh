# Sourced by scripts/test.sh: starts a throwaway redis-server and PostgreSQL on free loopback
# ports, exports GEMD_TEST_REDIS_URL and GEMD_TEST_POSTGRES_URL, and stops both on exit.
# A service that cannot start fails the test run with the reason (nothing is skipped).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

GEMD_SERVICES_DIR="$(mktemp -d /tmp/gemd-services.XXXXXX)"
chmod 755 "$GEMD_SERVICES_DIR"
stop_services() {
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  if [ -n "${PG_DATA:-}" ] && [ -f "$PG_DATA/postmaster.pid" ]; then $PG_AS pg_ctl -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$GEMD_SERVICES_DIR"
}
trap stop_services EXIT

command -v redis-server >/dev/null || { echo "redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$GEMD_SERVICES_DIR" >"$GEMD_SERVICES_DIR/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || { echo "redis-server did not start:" >&2; cat "$GEMD_SERVICES_DIR/redis.log" >&2; exit 1; }
export GEMD_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PG_BIN" ] && export PATH="$PG_BIN:$PATH"
command -v initdb >/dev/null || { echo "PostgreSQL server binaries are missing (apt-get install postgresql)" >&2; exit 1; }
PG_DATA="$GEMD_SERVICES_DIR/pg"
PG_AS=""
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: run it as the postgres user the package creates.
  id postgres >/dev/null 2>&1 || { echo "running as root, but there is no 'postgres' user to run PostgreSQL as" >&2; exit 1; }
  PG_AS="runuser -u postgres --"
  mkdir -p "$PG_DATA" && chown postgres "$PG_DATA"
fi
PG_PORT=$(free_port)
$PG_AS initdb -D "$PG_DATA" -U gemd --auth=trust >"$GEMD_SERVICES_DIR/initdb.log" 2>&1 || { echo "initdb failed:" >&2; cat "$GEMD_SERVICES_DIR/initdb.log" >&2; exit 1; }
$PG_AS pg_ctl -D "$PG_DATA" -l "$PG_DATA/server.log" -o "-p $PG_PORT -k $PG_DATA -h 127.0.0.1" -w start >/dev/null \
  || { echo "PostgreSQL did not start:" >&2; cat "$PG_DATA/server.log" >&2; exit 1; }
export GEMD_TEST_POSTGRES_URL="postgres://gemd@127.0.0.1:$PG_PORT/postgres"
echo "services: redis on $REDIS_PORT, postgres on $PG_PORT"
