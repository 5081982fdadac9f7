"""Process contract: SIGTERM drains in-flight requests (streams too) and exits 0; a drain
never outlives its deadline or a second signal."""
import json
import threading
import time

import requests

from conftest import KEY, spawn_gemd


# An instruction-tuned model ends a story when it likes; counting keeps it going to the limit.
LONG = "Count from 1 to 1000, one number per line, and write nothing else."


def start_stream(g, model, max_tokens):
    """Streams a long answer from a thread; returns (thread, result dict) once decoding is under way."""
    got = {}

    def stream():
        try:
            r = requests.post(
                f"{g.base}/v1beta/models/{model}:streamGenerateContent?alt=sse",
                headers={"x-goog-api-key": KEY},
                json={"contents": [{"parts": [{"text": LONG}]}],
                      "generationConfig": {"maxOutputTokens": max_tokens, "temperature": 0}},
                stream=True, timeout=120)
            got["status"] = r.status_code
            got["events"] = [json.loads(line[len(b"data: "):]) for line in r.iter_lines() if line.startswith(b"data: ")]
        except requests.RequestException as e:
            got["error"] = e

    t = threading.Thread(target=stream)
    t.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        m = requests.get(f"{g.base}/metrics", timeout=5).text
        if "gemd_engine_active_sequences{" in m and "} 1" in m.split("gemd_engine_active_sequences")[1].split("\n")[0]:
            break
        time.sleep(0.02)
    return t, got


def test_sigterm_drains_an_in_flight_stream():
    g = spawn_gemd()
    t, got = start_stream(g, "gemini-2.5-flash", 48)
    g.proc.terminate()
    t.join(timeout=120)
    assert g.proc.wait(timeout=60) == 0
    assert got["status"] == 200
    assert got["events"][-1]["candidates"][0]["finishReason"] in ("STOP", "MAX_TOKENS")
    assert any("shutdown requested" in line for line in g.log)


def test_the_drain_deadline_and_a_second_signal_cancel_a_long_generation():
    # 320 tokens take ~10 s on 2 cores: longer than the 1 s deadline.
    g = spawn_gemd(env={"GEMD_DRAIN_SECONDS": "1"})
    t, _ = start_stream(g, "gemini-2.5-flash-lite", 320)
    started = time.time()
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0
    t.join(timeout=60)
    assert time.time() - started < 6, "the process outlived its drain deadline"
    assert any("the drain deadline passed" in line for line in g.log), "".join(g.log[-5:])

    g = spawn_gemd()  # the default 30 s deadline; the second signal ends the drain
    t, _ = start_stream(g, "gemini-2.5-flash-lite", 320)
    started = time.time()
    g.proc.terminate()
    time.sleep(0.5)
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0
    t.join(timeout=60)
    assert time.time() - started < 6
    assert any("a second signal arrived" in line for line in g.log), "".join(g.log[-5:])
