"""Process contract: SIGTERM drains in-flight requests (streams too) and exits 0."""
import json
import threading
import time

import requests

from conftest import KEY, spawn_gemd


def test_sigterm_drains_an_in_flight_stream():
    g = spawn_gemd()
    got = {}

    def stream():
        r = requests.post(
            f"{g.base}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            headers={"x-goog-api-key": KEY},
            json={"contents": [{"parts": [{"text": "Tell me a long story."}]}],
                  "generationConfig": {"maxOutputTokens": 48, "temperature": 0}},
            stream=True, timeout=120)
        got["status"] = r.status_code
        got["events"] = [json.loads(line[len(b"data: "):]) for line in r.iter_lines() if line.startswith(b"data: ")]

    t = threading.Thread(target=stream)
    t.start()
    # Wait until generation is under way, then ask gemd to stop.
    deadline = time.time() + 60
    while time.time() < deadline:
        m = requests.get(f"{g.base}/metrics", timeout=5).text
        if "gemd_engine_active_sequences{" in m and "} 1" in m.split("gemd_engine_active_sequences")[1].split("\n")[0]:
            break
        time.sleep(0.02)
    g.proc.terminate()
    t.join(timeout=120)
    assert g.proc.wait(timeout=60) == 0
    assert got["status"] == 200
    assert got["events"][-1]["candidates"][0]["finishReason"] in ("STOP", "MAX_TOKENS")
    assert any("shutdown requested" in line for line in g.log)
