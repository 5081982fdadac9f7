"""Spawns one real gemd (the release binary, the real model) for the whole Python session."""
import os
import re
import subprocess
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


@pytest.fixture(scope="session")
def gemd():
    g = spawn_gemd()
    yield g
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0, "gemd exits 0 on SIGTERM"


@pytest.fixture
def base(gemd):
    return gemd.base
