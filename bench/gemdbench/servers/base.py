"""What every benchmarked server shares: its process (spawned with its output in a log file,
stopped with SIGTERM, then SIGKILL after 15 s), the wait for its health endpoint, and one
streamed generation recorded as a Result (an error is recorded, not raised)."""

import os
import re
import socket
import subprocess
import time

from ..client import Result, get_ok


class Server:
    """Subclasses set `name` and implement start(), request(text, max_tokens) (returning
    stream_post's triple) and parse(events, result, max_tokens)."""

    name = "?"

    def __init__(self, args, log_dir):
        self.args = args
        self.log_dir = log_dir
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self.version = ""
        self.command = []

    def wait_ready(self, path, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log: %s" % (self.name, self.proc.returncode,
                                                                   self.log_path))
            if get_ok(self.host, self.port, path, self.ready_headers()):
                return
            time.sleep(0.25)
        raise RuntimeError("%s not ready after %ds; log: %s" % (self.name, timeout, self.log_path))

    def ready_headers(self):
        return {}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self):
        return self.proc.pid

    @property
    def log_path(self):
        return os.path.join(self.log_dir, self.name + ".log")

    def spawn(self, cmd, env=None):
        self.command = cmd
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)

    def generate(self, text, max_tokens):
        """One streamed generation of `text` as a user turn."""
        r = Result()
        try:
            r.t_send, events, r.t_end = self.request(text, max_tokens)
            self.parse(events, r, max_tokens)
        except Exception as e:  # recorded, reported, and the figure left out
            r.error = "%s: %s" % (type(e).__name__, e)
            if r.t_send is None:
                r.t_send = time.perf_counter()
            r.t_end = time.perf_counter()
        if r.error is None and r.t_first is None:
            r.error = "no token in the stream"
        return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pip_version(venv, pkg):
    """The installed version of `pkg` in the peers' venv ("?" when unknown)."""
    try:
        out = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "show", pkg],
                             capture_output=True, text=True, timeout=60).stdout
        m = re.search(r"^Version: (.+)$", out, re.M)
        return m.group(1) if m else "?"
    except Exception:
        return "?"
