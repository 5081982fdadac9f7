"""google-genai's timeout against a gemd whose upstream hangs (accepts, reads, never answers):
the SDK's `X-Server-Timeout` is gemd's deadline, answered 504 DEADLINE_EXCEEDED in Google's
envelope, which the SDK raises as its ServerError; and however the call ends (gemd's 504 or
the SDK giving up first: both time the same second), gemd lets go of the upstream. The front
loads no model: its `[backends.default]` is the hanging upstream."""
import importlib.util
import socket
import threading
import time

import pytest
from google import genai
from google.genai import errors, types

from conftest import MODEL, spawn_gemd

FRONT_KEY = "AIzaSyFrontOfHangingUpstreamKey000000000"
EXPIRED = "Deadline expired before operation could complete."
# How the SDK's own timeout surfaces: a timeout of whichever httpx it runs on (httpx, or its
# fork httpx2), or gemd's 504 when gemd answers first.
GAVE_UP = (errors.ServerError, *(importlib.import_module(m).TimeoutException
                                  for m in ("httpx", "httpx2") if importlib.util.find_spec(m)))


class Hanging:
    """A TCP server that reads requests and never answers, counting the connections that
    delivered a request and those their peer closed."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests = 0
        self.closed = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn):
        counted = False
        try:
            while conn.recv(4096):
                if not counted:
                    counted = True
                    self.requests += 1
        except OSError:
            pass
        self.closed += 1

    def wait_closed(self, n, within=10):
        deadline = time.time() + within
        while self.closed < n:
            assert time.time() < deadline, f"the upstream's connection was not closed within {within} s"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def hanging():
    return Hanging()


@pytest.fixture(scope="module")
def front(hanging, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deadline")
    config = tmp / "front.toml"
    config.write_text("\n".join([
        "[backends.default]", 'kind = "gemini"', f'base_url = "{hanging.url}"', "timeout_seconds = 60",
        f'[quota.free."{MODEL}"]', "rpm = 100000", "tpm = 100000000", "rpd = 10000000", ""]))
    g = spawn_gemd("--api-key", FRONT_KEY, "--database-url", f"sqlite://{tmp / 'front.sqlite3'}", config=str(config))
    yield g
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0


def client(base, **options):
    return genai.Client(api_key=FRONT_KEY, http_options=types.HttpOptions(base_url=base, **options))


def test_the_sdks_server_timeout_is_answered_504_deadline_exceeded(front, hanging):
    # The SDK waits longer than it asks gemd to, so gemd's answer is what it reads.
    c = client(front.base, timeout=10_000, headers={"X-Server-Timeout": "1"})
    before = hanging.closed
    start = time.time()
    with pytest.raises(errors.ServerError) as e:
        c.models.generate_content(model=MODEL, contents="Say hello")
    assert time.time() - start < 5
    assert (e.value.code, e.value.status, e.value.message) == (504, "DEADLINE_EXCEEDED", EXPIRED)
    hanging.wait_closed(before + 1)


def test_an_sdk_timeout_releases_the_hanging_upstream(front, hanging):
    # timeout=1000 ms: the SDK sends X-Server-Timeout: 1 and gives up after 1 s itself.
    c = client(front.base, timeout=1000)
    before = hanging.closed
    with pytest.raises(GAVE_UP):
        c.models.generate_content(model=MODEL, contents="Say hello")
    hanging.wait_closed(before + 1)
    with pytest.raises(GAVE_UP):
        for _ in c.models.generate_content_stream(model=MODEL, contents="Say hello"):
            pass
    hanging.wait_closed(before + 2)
