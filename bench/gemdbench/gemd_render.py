"""Token counts from gemd's own rendering: `gemd render --count-tokens` on the request the bench
sends gemd (servers/gemd.py), with the model the servers load. Exact for gemd's template, with
no server running; the count is what `countTokens` answers (tests/python/test_render.py)."""

import json
import subprocess

from .servers.gemd import request_body


class RenderError(RuntimeError):
    pass


def token_counter(gemd, model):
    """A function from a user turn's text to the tokens gemd feeds `model` for it."""

    def count(text):
        cmd = [gemd, "render", "--model", model, "--count-tokens"]
        body = json.dumps(request_body(text, 1))
        try:
            out = subprocess.run(cmd, input=body, capture_output=True, text=True, timeout=120)
        except OSError as e:
            raise RenderError("cannot run %s: %s" % (gemd, e))
        if out.returncode != 0 or not out.stdout.strip().isdigit():
            raise RenderError("`%s` failed (exit %d): %s" % (" ".join(cmd), out.returncode,
                                                            out.stderr.strip()[-300:]))
        return int(out.stdout)

    return count
