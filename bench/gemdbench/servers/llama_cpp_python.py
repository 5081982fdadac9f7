"""llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server` in the peers'
venv), with interrupt_requests off (its default cuts a stream when another request arrives);
it picks up the GGUF's chat template at load and serves one request at a time."""

import os

from ..client import stream_post
from .base import Server, free_port, pip_version
from .openai_chat import chat_body, parse_chat_stream


class LlamaCppPython(Server):
    name = "llama-cpp-python"

    def start(self):
        py = os.path.join(self.args.venv, "bin", "python")
        self.port = free_port()
        cmd = [py, "-m", "llama_cpp.server", "--model", self.args.model, "--host", self.host,
               "--port", str(self.port), "--n_threads", str(self.args.threads),
               "--n_threads_batch", str(self.args.threads),
               "--n_ctx", str(self.args.llama_cpp_python_ctx), "--interrupt_requests", "False"]
        self.spawn(cmd)
        self.wait_ready("/v1/models")
        self.version = "llama-cpp-python %s" % pip_version(self.args.venv, "llama-cpp-python")

    def request(self, text, max_tokens):
        # No ignore_eos here: its only lever, a logit_bias on the end-of-turn tokens, runs a
        # Python logits processor over the whole vocabulary per token (measured with Gemma 3
        # 270M's 262,144 entries: 0.4 tok/s instead of ~50). Rates are per token actually
        # generated, as for gemd.
        return stream_post(self.host, self.port, "/v1/chat/completions",
                           chat_body(text, max_tokens), {})

    def parse(self, events, r, max_tokens):
        parse_chat_stream(events, r, max_tokens)
