"""Quotas seen by the real google-genai SDK: the free tier's 16th request in a minute to
gemini-2.5-flash is an APIError 429 whose RetryInfo, once honoured, lets the call through;
replicas sharing Redis enforce one combined limit; an unreachable Redis is a clear 503."""
import re
import subprocess
import time

import pytest
import requests
from google import genai
from google.genai import errors, types

from conftest import KEY, free_port, fresh_store, spawn_gemd, stop

MODEL = "gemini-2.5-flash"
TINY = types.GenerateContentConfig(max_output_tokens=1)


def retry_delay_seconds(err):
    details = err.details["error"]["details"]
    info = next(d for d in details if d["@type"].endswith("RetryInfo"))
    return float(info["retryDelay"].rstrip("s"))


def test_sixteenth_request_is_429_and_retry_info_is_honoured():
    g = spawn_gemd(*fresh_store(), config="tests/python/gemd-quota-test.toml")
    try:
        client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=g.base))
        for _ in range(15):
            client.models.generate_content(model=MODEL, contents="hi", config=TINY)
        with pytest.raises(errors.APIError) as e:
            client.models.generate_content(model=MODEL, contents="hi", config=TINY)
        assert e.value.code == 429
        assert e.value.status == "RESOURCE_EXHAUSTED"
        delay = retry_delay_seconds(e.value)
        assert 0 < delay <= 60
        time.sleep(delay)
        assert client.models.generate_content(model=MODEL, contents="hi", config=TINY).text is not None
    finally:
        stop(g)


def test_two_replicas_share_one_limit_through_redis(redis_url):
    # A project name unique to this run keeps earlier runs' counts out of the shared Redis.
    store = fresh_store()
    a = spawn_gemd(*store, "--redis-url", redis_url, config="tests/python/gemd-quota-test.toml")
    b = spawn_gemd(*store, "--redis-url", redis_url, config="tests/python/gemd-quota-test.toml")
    try:
        # Both replicas see the default project; clear its window from earlier runs.
        keys = subprocess.run(["redis-cli", "-u", redis_url, "--scan", "--pattern", "gemd:quota:*default*"],
                              capture_output=True, text=True).stdout.split()
        if keys:
            subprocess.run(["redis-cli", "-u", redis_url, "del", *keys], capture_output=True)
        statuses = []
        for i in range(16):
            base = (a if i % 2 == 0 else b).base
            r = requests.post(f"{base}/v1beta/models/{MODEL}:generateContent", headers={"x-goog-api-key": KEY},
                              json={"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 1}},
                              timeout=60)
            statuses.append(r.status_code)
        assert statuses == [200] * 15 + [429], statuses
    finally:
        stop(a)
        stop(b)


def test_unreachable_redis_is_503_or_fail_open():
    port = str(free_port())
    redis = subprocess.Popen(["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    url = f"redis://127.0.0.1:{port}/"
    closed = spawn_gemd(*fresh_store(), "--redis-url", url, config="tests/python/gemd-quota-test.toml")
    opened = spawn_gemd(*fresh_store(), "--redis-url", url, "--quota-fail-open", config="tests/python/gemd-quota-test.toml")
    try:
        redis.terminate()
        redis.wait(timeout=10)
        body = {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 1}}
        r = requests.post(f"{closed.base}/v1beta/models/{MODEL}:generateContent", headers={"x-goog-api-key": KEY}, json=body, timeout=60)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["status"] == "UNAVAILABLE"
        r = requests.post(f"{opened.base}/v1beta/models/{MODEL}:generateContent", headers={"x-goog-api-key": KEY}, json=body, timeout=60)
        assert r.status_code == 200, r.text
    finally:
        stop(closed)
        stop(opened)
        if redis.poll() is None:
            redis.kill()


def test_keys_cli_create_use_revoke():
    store = fresh_store()
    g = spawn_gemd(*store)
    try:
        binary = g.proc.args[0]
        out = subprocess.run([binary, "keys", "create", "--name", "ci", *store], capture_output=True, text=True, check=True)
        secret = out.stdout.strip()
        assert re.fullmatch(r"AIza[A-Za-z0-9_-]{35}", secret)
        assert secret not in out.stderr
        r = requests.get(f"{g.base}/v1beta/models", headers={"x-goog-api-key": secret}, timeout=30)
        assert r.status_code == 200
        listed = subprocess.run([binary, "keys", "list", *store], capture_output=True, text=True, check=True).stdout
        assert secret not in listed and secret[:8] in listed
        key_id = next(line.split("\t")[0] for line in listed.splitlines() if secret[:8] in line)
        subprocess.run([binary, "keys", "revoke", key_id, *store], capture_output=True, text=True, check=True)
        r = requests.get(f"{g.base}/v1beta/models", headers={"x-goog-api-key": secret}, timeout=30)
        assert r.status_code == 400
        assert r.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        assert secret not in "".join(g.log), "keys never appear in logs"
        usage = subprocess.run([binary, "usage", *store], capture_output=True, text=True, check=True).stdout
        assert "DAY(PT)" in usage
    finally:
        stop(g)
