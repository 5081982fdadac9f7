"""A gemd in front of another gemd (kind = "gemini"): google-genai and plain HTTP against the
front get the upstream's answers, with the wire intact, for every native call; a dead first
backend falls back to the next. Embeddings and the OpenAI layer (the openai SDK) go through
too. The upstream is the session's gemd (the real model and embedder); the front loads no
model of its own (its `[backends.default]` is the upstream)."""
import openai
import pytest
import requests
from google import genai
from google.genai import types

from conftest import KEY, MODEL, free_port, front_config, spawn_gemd, stop

FRONT_KEY = "AIzaSyFrontOfUpstreamTestKey000000000000"
EMBEDDING_MODEL = "gemini-embedding-001"


@pytest.fixture(scope="module")
def front(gemd, tmp_path_factory):
    # `default` is the upstream too, so the other built-in ids go there and no model loads.
    tmp = tmp_path_factory.mktemp("front")
    config = front_config(tmp / "front.toml", {"default": gemd.base, "up": gemd.base}, route=["default"])
    # The embedding id through the upstream too (a Gemini upstream embeds: no capability to add).
    # Not as `default`: for an embedding id that name is the local embedder's.
    with config.open("a") as f:
        f.write(f'[[embedding_models]]\nid = "{EMBEDDING_MODEL}"\nbackends = ["up"]\n')
    g = spawn_gemd("--api-key", FRONT_KEY, "--database-url", f"sqlite://{tmp / 'front.sqlite3'}", config=str(config))
    yield g
    g.proc.terminate()
    assert g.proc.wait(timeout=60) == 0


def client(base, key=FRONT_KEY):
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base))


def test_generate_through_the_front_is_the_upstreams_answer(front, gemd):
    # A Client closes its connections when dropped: keep each one while it is used.
    via_front, direct_client = client(front.base), client(gemd.base, KEY)
    r = via_front.models.generate_content(
        model=MODEL, contents="What is 2+2? Answer with one number.",
        config=types.GenerateContentConfig(temperature=0, max_output_tokens=16))
    direct = direct_client.models.generate_content(
        model=MODEL, contents="What is 2+2? Answer with one number.",
        config=types.GenerateContentConfig(temperature=0, max_output_tokens=16))
    assert r.text and r.text == direct.text, "greedy answers of the same model through the front"
    assert r.model_version == direct.model_version
    u = r.usage_metadata
    assert u.prompt_token_count == direct.usage_metadata.prompt_token_count


def test_streams_in_both_framings_carry_the_upstreams_chunks(front):
    c = client(front.base)
    chunks = list(c.models.generate_content_stream(
        model=MODEL, contents="Count from one to five.", config=types.GenerateContentConfig(max_output_tokens=24)))
    assert "".join(c.text or "" for c in chunks)
    assert chunks[-1].candidates[0].finish_reason in (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS)

    url = f"{front.base}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"parts": [{"text": "Say hi"}]}], "generationConfig": {"maxOutputTokens": 8}}
    r = requests.post(url, json=body, headers={"x-goog-api-key": FRONT_KEY}, timeout=120)
    assert r.status_code == 200 and r.headers["x-gemd-backend"] == "default"
    items = r.json()
    assert isinstance(items, list) and items[-1]["candidates"][0]["finishReason"]


def test_count_tokens_is_the_upstreams_count(front, gemd):
    via_front, direct_client = client(front.base), client(gemd.base, KEY)
    via = via_front.models.count_tokens(model=MODEL, contents="How many tokens is this sentence?")
    direct = direct_client.models.count_tokens(model=MODEL, contents="How many tokens is this sentence?")
    assert via.total_tokens == direct.total_tokens > 0


def test_function_calling_goes_through(front):
    weather = types.FunctionDeclaration(
        name="get_weather", description="Get the current weather for a city.",
        parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]))
    c = client(front.base)
    r = c.models.generate_content(
        model=MODEL, contents="What's the weather in Paris?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[weather])],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)))
    calls = r.function_calls
    assert calls and calls[0].name == "get_weather" and isinstance(calls[0].args["city"], str)


def test_embeddings_through_the_front_are_the_upstreams_vectors(front, gemd):
    via_front, direct_client = client(front.base), client(gemd.base, KEY)
    texts = ["The cat sat on the mat.", "Stock markets fell today."]
    config = types.EmbedContentConfig(output_dimensionality=64)
    via = via_front.models.embed_content(model=EMBEDDING_MODEL, contents=texts, config=config)
    direct = direct_client.models.embed_content(model=EMBEDDING_MODEL, contents=texts, config=config)
    assert [e.values for e in via.embeddings] == [e.values for e in direct.embeddings]
    assert len(via.embeddings) == 2 and len(via.embeddings[0].values) == 64

    url = f"{front.base}/v1beta/models/{EMBEDDING_MODEL}:embedContent"
    r = requests.post(url, json={"content": {"parts": [{"text": "hello"}]}},
                      headers={"x-goog-api-key": FRONT_KEY}, timeout=60)
    assert r.status_code == 200 and r.headers["x-gemd-backend"] == "up", r.text
    assert len(r.json()["embedding"]["values"]) > 64


def test_the_openai_sdk_through_the_front_gets_the_upstreams_answers(front, gemd):
    via = openai.OpenAI(api_key=FRONT_KEY, base_url=f"{front.base}/v1beta/openai/")
    direct = openai.OpenAI(api_key=KEY, base_url=f"{gemd.base}/v1beta/openai/")
    ask = dict(model=MODEL, temperature=0, max_tokens=16,
               messages=[{"role": "user", "content": "What is the capital of France? One word."}])
    a, b = via.chat.completions.create(**ask), direct.chat.completions.create(**ask)
    assert a.choices[0].message.content and a.choices[0].message.content == b.choices[0].message.content
    assert a.usage.prompt_tokens == b.usage.prompt_tokens

    streamed = via.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True})
    chunks = list(streamed)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == b.choices[0].message.content
    assert chunks[-1].usage and chunks[-1].usage.completion_tokens > 0

    e = via.embeddings.create(model=EMBEDDING_MODEL, input=["one", "two"], dimensions=32)
    assert [len(d.embedding) for d in e.data] == [32, 32]


def test_a_bad_request_is_refused_by_the_front_in_googles_envelope(front):
    url = f"{front.base}/v1beta/models/{MODEL}:generateContent"
    r = requests.post(url, json={"contents": [{"parts": [{"txt": "hi"}]}]},
                      headers={"x-goog-api-key": FRONT_KEY}, timeout=30)
    assert r.status_code == 400
    assert r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "x-gemd-backend" not in r.headers, "refused before any backend"


def test_a_dead_first_backend_falls_back_to_the_next(gemd, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    config = front_config(tmp_path / "front.toml", {"dead": dead, "up": gemd.base})
    # `default` stays the local model here: start it with the small one so the test is quick.
    g = spawn_gemd("--api-key", FRONT_KEY, "--model", "smollm2-135m-instruct",
                   "--database-url", f"sqlite://{tmp_path / 'front.sqlite3'}", config=str(config))
    try:
        url = f"{g.base}/v1beta/models/{MODEL}:generateContent"
        body = {"contents": [{"parts": [{"text": "Say hi"}]}], "generationConfig": {"maxOutputTokens": 8}}
        r = requests.post(url, json=body, headers={"x-goog-api-key": FRONT_KEY}, timeout=120)
        assert r.status_code == 200, r.text
        assert r.headers["x-gemd-backend"] == "up"
        assert r.json()["candidates"][0]["content"]["parts"][0]["text"] is not None
    finally:
        stop(g)
