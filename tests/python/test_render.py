"""`gemd render` on the default model: the text is the user turn inside ChatML's markers, and the
count is what `countTokens` on the served gemd answers for the same request (the bench sizes
its prompts with it)."""
import json
import subprocess
import urllib.request

from conftest import KEY, MODEL, _binary


def run_render(request, *flags):
    return subprocess.run([_binary(), "render", *flags], input=json.dumps(request),
                          capture_output=True, text=True, timeout=120)


def render(request, *flags):
    out = run_render(request, *flags)
    assert out.returncode == 0, out.stderr
    return out.stdout


def count_tokens(base, body):
    req = urllib.request.Request(f"{base}/v1beta/models/{MODEL}:countTokens",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "x-goog-api-key": KEY})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["totalTokens"]


ONE_TURN = {"contents": [{"parts": [{"text": "Write a haiku about the sea."}]}]}
WEATHER = {"name": "get_weather", "description": "Current weather.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
WITH_SYSTEM_AND_TOOLS = {
    "systemInstruction": {"parts": [{"text": "You are terse."}]},
    "contents": [{"role": "user", "parts": [{"text": "你好, what's the weather in Paris?"}]}],
    "tools": [{"functionDeclarations": [WEATHER]}],
}


def test_one_turn_is_the_user_text_inside_the_templates_turn_markers(gemd):
    text = render(ONE_TURN)
    assert "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n" in text, text
    assert text.endswith("<|im_start|>assistant\n"), text
    assert json.loads(render(ONE_TURN, "--json"))["text"] == text


def test_the_count_is_what_count_tokens_answers(base):
    for request in (ONE_TURN, WITH_SYSTEM_AND_TOOLS):
        rendered = json.loads(render(request, "--json"))
        # The full form counts the system instruction and the tools too.
        full = {"generateContentRequest": {"model": f"models/{MODEL}", **request}}
        assert rendered["tokens"] == count_tokens(base, full), rendered["text"]
        assert int(render(request, "--count-tokens")) == rendered["tokens"]
    assert json.loads(render(ONE_TURN, "--json"))["tokens"] == count_tokens(base, ONE_TURN)


def test_a_refused_request_fails_with_the_apis_message(gemd):
    out = run_render(WITH_SYSTEM_AND_TOOLS, "--id", "gemma-3-27b-it")
    assert out.returncode == 1 and "Developer instruction is not enabled" in out.stderr, out.stderr
