"""The guide's curl examples, run with the real curl binary."""
import json
import subprocess

from conftest import KEY


def curl(*args):
    out = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def test_guide_generate(base):
    body = json.dumps({"contents": [{"parts": [{"text": "你好,介绍一下你自己"}]}]}, ensure_ascii=False)
    out = curl(f"{base}/v1beta/models/gemini-2.5-flash:generateContent?key={KEY}",
               "-H", "Content-Type: application/json", "-d", body)
    r = json.loads(out)
    assert r["candidates"][0]["content"]["parts"][0]["text"]


def test_guide_generate_with_config(base):
    body = json.dumps({"contents": [{"parts": [{"text": "解释一下什么是机器学习"}]}],
                       "generationConfig": {"temperature": 0.7, "maxOutputTokens": 1024}}, ensure_ascii=False)
    out = curl(f"{base}/v1beta/models/gemini-2.5-flash:generateContent?key={KEY}",
               "-H", "Content-Type: application/json", "-d", body)
    assert json.loads(out)["usageMetadata"]["totalTokenCount"] > 0


def test_stream_sse(base):
    out = curl("-N", f"{base}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key={KEY}",
               "-H", "Content-Type: application/json", "-d", '{"contents":[{"parts":[{"text":"Explain how AI works"}]}]}')
    # (text-mode subprocess output has CRLF translated to LF)
    events = [json.loads(e[len("data: "):]) for e in out.replace("\r\n", "\n").split("\n\n") if e]
    assert events[-1]["candidates"][0]["finishReason"] in ("STOP", "MAX_TOKENS")


def test_missing_key_is_403(base):
    out = subprocess.run(["curl", "-sS", f"{base}/v1beta/models", "-w", "\n%{http_code}"], capture_output=True, text=True)
    body, code = out.stdout.rsplit("\n", 1)
    assert code == "403"
    assert json.loads(body)["error"]["status"] == "PERMISSION_DENIED"
