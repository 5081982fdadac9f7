"""The streaming client every system is measured with: http.client, one connection per request;
each server-sent event is timestamped as it arrives and parsed only after the stream ends, so
the client costs little CPU next to the servers."""

import http.client
import json
import time


class Result:
    """One streamed generation: its timestamps, token counts, finish reason, text or error."""

    __slots__ = ("t_send", "t_first", "t_last", "t_end", "tokens", "prompt_tokens", "finish",
                 "error", "text")

    def __init__(self):
        self.t_send = self.t_first = self.t_last = self.t_end = None
        self.tokens = 0
        self.prompt_tokens = None
        self.finish = None
        self.error = None
        self.text = ""

    @property
    def ttft(self):
        return None if self.t_first is None else self.t_first - self.t_send

    @property
    def latency(self):
        return self.t_end - self.t_send

    @property
    def decode_tps(self):
        if self.tokens < 2 or self.t_last is None or self.t_last <= self.t_first:
            return None
        return (self.tokens - 1) / (self.t_last - self.t_first)


def stream_post(host, port, path, body, headers, timeout=900.0):
    """POST and collect (arrival time, data payload) for every SSE event, timestamped on
    arrival. Returns (send time, events, end time)."""
    events = []
    payload = json.dumps(body).encode()
    h = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    h.update(headers)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    t_send = time.perf_counter()
    try:
        conn.request("POST", path, body=payload, headers=h)
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError("HTTP %d: %s" % (resp.status,
                                                resp.read()[:300].decode("utf-8", "replace")))
        while True:
            line = resp.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                events.append((time.perf_counter(), line[5:].strip()))
    finally:
        conn.close()
    return t_send, events, time.perf_counter()


def get_ok(host, port, path, headers, timeout=2):
    """Whether GET `path` answers 200 (False while the server is not listening yet)."""
    try:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200
    except OSError:
        return False
