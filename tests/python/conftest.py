"""Spawns one real gemd (the release binary, the real model) for the whole Python session, and
holds what several test files share: spawning and stopping more gemds, private stores, free
ports, front configs (a gemd in front of upstream gemds) and the services scripts/services.sh
starts (Redis, PostgreSQL)."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "AIzaSyPythonSdkTestKey0000000000000000"
MODEL = "gemini-2.5-flash"


class Gemd:
    def __init__(self, proc, base):
        self.proc = proc
        self.base = base
        self.log = []


def _binary():
    b = os.environ.get("GEMD_BIN")
    if b:
        return b
    return str(Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/gemd/target")) / "release/gemd")


def spawn_gemd(*extra_args, env=None, config="tests/python/gemd-test.toml"):
    """Starts gemd on a free port and returns it once it logs `listening on http://H:P`."""
    cmd = [_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--api-key", KEY,
           "--config", str(ROOT / config), *extra_args]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    found = {}
    lines = []

    def pump():
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"listening on (http://[0-9.]+:\d+)", line)
            if m and "base" not in found:
                found["base"] = m.group(1)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.time() + 120
    while "base" not in found:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("gemd did not start:\n" + "".join(lines))
        time.sleep(0.05)
    g = Gemd(proc, found["base"])
    g.log = lines
    return g


def stop(g):
    """SIGTERM, then wait for the drain (a gemd killed already is just reaped)."""
    g.proc.terminate()
    g.proc.wait(timeout=60)


def fresh_store():
    """A private SQLite store, so earlier runs' usage never counts."""
    return ["--database-url", "sqlite://" + os.path.join(tempfile.mkdtemp(), "gemd.sqlite3")]


def free_port():
    """A loopback port nothing listens on (free when asked; nothing else here binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


UNLIMITED = {"rpm": 100000, "tpm": 100000000, "rpd": 10000000}


def front_config(path, backends, route=None, limits=UNLIMITED):
    """Writes a config with one `[backends.NAME]` per entry of `backends`, MODEL served by the
    backends named in `route` (default: all of them), tried in that order, and MODEL's
    free-tier `limits` (a missing one is unlimited). An entry is name → base_url for a
    `kind = "gemini"` upstream (KEY is sent, which every spawned gemd accepts), or name → a
    dict of the backend's own keys (e.g. `kind = "openai"`), written as they are."""
    lines = []
    for name, url in backends.items():
        keys = url if isinstance(url, dict) else {"kind": "gemini", "base_url": url, "api_keys": [KEY]}
        keys = {"timeout_seconds": 30, **keys}
        # JSON's strings, numbers, booleans and lists of them are TOML's too.
        lines += [f"[backends.{name}]", *(f"{k} = {json.dumps(v)}" for k, v in keys.items())]
    lines += ["[[models]]", f'id = "{MODEL}"', f"backends = {json.dumps(list(route or backends))}",
              f'[quota.free."{MODEL}"]', *(f"{k} = {v}" for k, v in limits.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("GEMD_TEST_REDIS_URL")
    assert url, "GEMD_TEST_REDIS_URL is not set: run the tests through scripts/test.sh, which starts a redis-server"
    return url


@pytest.fixture(scope="session")
def postgres_url():
    url = os.environ.get("GEMD_TEST_POSTGRES_URL")
    assert url, "GEMD_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, which starts PostgreSQL"
    return url


@pytest.fixture(scope="session")
def gemd():
    g = spawn_gemd()
    yield g
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0, "gemd exits 0 on SIGTERM"


@pytest.fixture
def base(gemd):
    return gemd.base
