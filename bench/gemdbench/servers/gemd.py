"""gemd: `gemd serve` on a free port with a generated config (the thread count, the prefix cache
and batch_invariant written out, no quota on the benchmarked id), asked on its native
streaming endpoint; the text arrives in candidates' parts, the counts in usageMetadata."""

import json
import os
import re
import subprocess
import time

from ..client import stream_post
from ..paths import REPO
from .base import Server

MODEL_ID = "gemini-2.5-flash"
PATH = "/v1beta/models/%s:streamGenerateContent?alt=sse" % MODEL_ID


def request_body(text, max_tokens):
    """The GenerateContentRequest the bench sends: one plain user turn (gemd_render counts it)."""
    return {"contents": [{"parts": [{"text": text}]}],
            "generationConfig": {"maxOutputTokens": max_tokens, "temperature": 0}}


class Gemd(Server):
    name = "gemd"
    KEY = "bench-key"

    def start(self):
        cfg = os.path.join(self.log_dir, "gemd.toml")
        with open(cfg, "w") as f:
            # gemd's defaults but for the thread count (the prefix cache, on by default, is
            # written out so that the file says what the warm-prefix test relies on).
            # Quotas off for the benchmarked id (an entry with no limits is unlimited): the
            # default project is on the free tier, whose 15 RPM would refuse the larger runs.
            f.write("[engine]\nthreads = %d\nprefix_cache_entries = 8\nbatch_invariant = %s\n\n"
                    "[quota.free.\"%s\"]\n" % (self.args.threads, self.args.gemd_batch_invariant,
                                                MODEL_ID))
        cmd = [self.args.gemd, "serve", "--host", "127.0.0.1", "--port", "0", "--api-key",
               self.KEY, "--config", cfg, "--model", self.args.model]
        self.spawn(cmd)
        self.port = self._announced_port(time.time() + 300)
        self.wait_ready("/v1beta/models")
        self.version = self._version()

    def _announced_port(self, deadline):
        """The port gemd logs as `listening on http://H:P` (it was started on port 0)."""
        while True:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("gemd did not start; log: " + self.log_path)
            with open(self.log_path, "rb") as f:
                m = re.search(rb"listening on http://([0-9.]+):(\d+)", f.read())
            if m:
                return int(m.group(2))
            time.sleep(0.1)

    def _version(self):
        version = ""
        try:
            version = subprocess.run([self.args.gemd, "--version"], capture_output=True, text=True,
                                     timeout=10).stdout.strip()
        except Exception:
            pass
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        return (version + " (repo " + commit + ")").strip()

    def ready_headers(self):
        return {"x-goog-api-key": self.KEY}

    def request(self, text, max_tokens):
        return stream_post(self.host, self.port, PATH, request_body(text, max_tokens),
                           {"x-goog-api-key": self.KEY})

    def parse(self, events, r, max_tokens):
        last_usage = None
        for t, data in events:
            ev = json.loads(data)
            if "error" in ev:
                raise RuntimeError(json.dumps(ev["error"])[:300])
            for c in ev.get("candidates", []):
                for p in (c.get("content") or {}).get("parts", []):
                    if p.get("text"):
                        r.text += p["text"]
                        if r.t_first is None:
                            r.t_first = t
                        r.t_last = t
                if c.get("finishReason"):
                    r.finish = c["finishReason"]
            u = ev.get("usageMetadata")
            if u:
                generated = u.get("candidatesTokenCount", 0)
                if r.t_first is None and generated > 0:
                    r.t_first = t
                if generated > (last_usage or {}).get("candidatesTokenCount", 0):
                    r.t_last = t
                last_usage = u
        if last_usage:
            r.tokens = last_usage.get("candidatesTokenCount", 0)
            r.prompt_tokens = last_usage.get("promptTokenCount")
