"""A GGUF of another family answers correctly by configuration alone, next to the default
model in the same gemd: each backend is prompted through its own chat template, ends its
turn, and is named in `x-gemd-backend`; `gemd models` shows which id goes to which file."""
import json
import subprocess
import urllib.request

import pytest
from google import genai
from google.genai import types

from conftest import KEY, ROOT, _binary, spawn_gemd

CONFIG = "tests/python/gemd-two-families.toml"


@pytest.fixture(scope="module")
def two():
    g = spawn_gemd(config=CONFIG)
    yield g
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0


def ask(base, model, text):
    req = urllib.request.Request(
        f"{base}/v1beta/models/{model}:generateContent",
        data=json.dumps({"contents": [{"parts": [{"text": text}]}], "generationConfig": {"temperature": 0}}).encode(),
        headers={"x-goog-api-key": KEY, "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.headers["x-gemd-backend"], json.load(r)


def test_each_family_answers_through_its_own_template(two):
    backend, v = ask(two.base, "smollm2-135m-instruct", "What is the capital of France? Answer in one sentence.")
    assert "SmolLM2-135M-Instruct" in backend
    text = v["candidates"][0]["content"]["parts"][0]["text"]
    assert "Paris" in text and "<|im_" not in text, text
    assert v["candidates"][0]["finishReason"] == "STOP", v

    backend, v = ask(two.base, "gemini-2.5-flash", "What is the capital of France? Answer with one word.")
    assert "qwen2.5-coder-0.5b-instruct" in backend
    assert "Paris" in v["candidates"][0]["content"]["parts"][0]["text"], v
    assert v["candidates"][0]["finishReason"] == "STOP", v


def test_the_sdk_reaches_the_second_family(two):
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=two.base))
    r = client.models.generate_content(model="smollm2-135m-instruct", contents="What is the capital of France? Answer in one sentence.",
                                       config=types.GenerateContentConfig(temperature=0))
    assert "Paris" in r.text
    info = client.models.get(model="smollm2-135m-instruct")
    assert info.display_name == "SmolLM2 135M Instruct"
    assert "SmolLM2-135M-Instruct" in info.description


def test_start_up_logs_the_template_and_memory_of_each_backend(two):
    log = "".join(two.log)
    assert log.count('template="gguf"') == 2, log
    assert "memory estimate" in log, log


def test_models_lists_which_id_goes_to_which_file():
    out = subprocess.run([_binary(), "models", "--config", str(ROOT / CONFIG)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines() if l.strip().startswith("smollm2-135m-instruct") and "->" in l)
    assert "-> smol ->" in line and "SmolLM2-135M-Instruct.Q4_1.gguf" in line, out.stdout
