"""A gemd in front of real OpenAI-compatible servers (`kind = "openai"`): google-genai speaks
the native Gemini API to the front, which translates each call to chat completions and back.

Two upstreams, because each proves something the other cannot:

- gemd's own OpenAI layer (`/v1beta/openai` of the session's gemd, the real model). Its engine is
  the one the native surface runs, so a greedy answer through the front must be the native
  answer, token for token: any difference is a translation that lost or changed something
  (the system instruction, a turn, a sampling field).
- llama-cpp-python's server (from PyPI, tests/python/requirements-upstreams.txt), serving
  SmolLM2-135M: an independent implementation, with its own parsing of tools, tool_choice and
  streams, so what gemd sends is what the OpenAI wire means and not just what gemd reads.

(The translation rules one by one, against a recording engine: crates/server/tests/surface/
upstream_openai.rs.)"""
import json
import math
import subprocess
import sys
import time

import pytest
import requests
from google import genai
from google.genai import types

from conftest import KEY, MODEL, _binary, free_port, front_config, spawn_gemd, stop

FRONT_KEY = "AIzaSyFrontOfOpenAiUpstreamTestKey000000"
# tests/python/gemd-test.toml gives this id room for a call or a small JSON document.
ROOMY = "gemini-2.5-flash-lite"
WEATHER = types.FunctionDeclaration(
    name="get_weather", description="Get the current weather for a city.",
    parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]))
GREEDY = dict(temperature=0, max_output_tokens=16)
EMBEDDING_MODEL = "gemini-embedding-001"


def client(base, key=FRONT_KEY):
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base))


def forced(*names):
    """Mode ANY, and no SDK-side function running: the call itself is the answer."""
    return dict(tools=[types.Tool(function_declarations=[WEATHER])],
                tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                    mode="ANY", allowed_function_names=list(names) or None)),
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))


def spawn_front(tmp, backend, embedder=None):
    """A front gemd whose `[backends.default]` is `backend`: every built-in id goes there and
    no model is loaded; with `embedder` (a backend's keys), EMBEDDING_MODEL goes there."""
    backends = {"default": backend, **({"emb": embedder} if embedder else {})}
    config = front_config(tmp / "front.toml", backends, route=["default"])
    if embedder:
        with config.open("a") as f:
            f.write(f'[[embedding_models]]\nid = "{EMBEDDING_MODEL}"\nbackends = ["emb"]\n')
    return spawn_gemd("--api-key", FRONT_KEY, "--database-url", f"sqlite://{tmp / 'front.sqlite3'}",
                      config=str(config))


def assert_finished(r):
    c = r.candidates[0]
    assert c.finish_reason in (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS), r
    u = r.usage_metadata
    assert u.prompt_token_count > 0 and u.candidates_token_count > 0, u
    assert u.total_token_count == u.prompt_token_count + u.candidates_token_count, u


# ---- (a) gemd's own OpenAI layer as the upstream ------------------------------------------

@pytest.fixture(scope="module")
def front(gemd, tmp_path_factory):
    # `model` is left out: the upstream's OpenAI layer knows the public ids themselves.
    layer = {"kind": "openai", "base_url": f"{gemd.base}/v1beta/openai", "api_keys": [KEY]}
    # The same layer as an embedding backend: an OpenAI server embeds only when told it does.
    g = spawn_front(tmp_path_factory.mktemp("front-oa"), layer, embedder={**layer, "capabilities": ["embeddings"]})
    yield g
    stop(g)


def test_generate_is_the_upstreams_native_greedy_answer(front, gemd):
    # A Client closes its connections when dropped: keep each one while it is used.
    via_front, native = client(front.base), client(gemd.base, KEY)
    ask = dict(model=MODEL, contents="What is 2+2? Answer with one number.",
               config=types.GenerateContentConfig(**GREEDY))
    r, direct = via_front.models.generate_content(**ask), native.models.generate_content(**ask)
    assert r.text and r.text == direct.text, (r.text, direct.text)
    assert r.candidates[0].finish_reason == direct.candidates[0].finish_reason
    assert r.model_version == MODEL, "the public id, not the upstream's name"
    # The same prompt tokens: the turn reached the engine as the native surface gives it.
    u, d = r.usage_metadata, direct.usage_metadata
    assert (u.prompt_token_count, u.candidates_token_count) == (d.prompt_token_count, d.candidates_token_count)


def test_stream_joins_to_the_native_answer_and_ends_with_finish_and_usage(front, gemd):
    via_front, native = client(front.base), client(gemd.base, KEY)
    ask = dict(model=MODEL, contents="Count from one to five.", config=types.GenerateContentConfig(**GREEDY))
    chunks = list(via_front.models.generate_content_stream(**ask))
    direct = native.models.generate_content(**ask)
    assert len(chunks) > 1, "the answer streams, not one block at the end"
    assert "".join(c.text or "" for c in chunks) == direct.text
    last = chunks[-1]
    assert last.candidates[0].finish_reason == direct.candidates[0].finish_reason
    assert last.usage_metadata.candidates_token_count == direct.usage_metadata.candidates_token_count
    assert last.usage_metadata.prompt_token_count == direct.usage_metadata.prompt_token_count
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])


def test_embeddings_are_the_upstreams_vectors_from_its_embeddings_endpoint(front, gemd):
    via_front, native = client(front.base), client(gemd.base, KEY)
    texts = ["A cat sleeps.", "Rain is forecast."]
    config = types.EmbedContentConfig(output_dimensionality=48)
    via = via_front.models.embed_content(model=EMBEDDING_MODEL, contents=texts, config=config)
    direct = native.models.embed_content(model=EMBEDDING_MODEL, contents=texts, config=config)
    assert len(via.embeddings) == 2
    for a, b in zip(via.embeddings, direct.embeddings):
        # Cut to 48 and renormalised by the front, as the upstream's own embedder does.
        assert len(a.values) == 48 and max(abs(x - y) for x, y in zip(a.values, b.values)) < 1e-5
    r = requests.post(f"{front.base}/v1beta/models/{EMBEDDING_MODEL}:embedContent",
                      json={"content": {"parts": [{"text": "hi"}]}}, headers={"x-goog-api-key": FRONT_KEY}, timeout=60)
    assert r.status_code == 200 and r.headers["x-gemd-backend"] == "emb", r.text


def test_a_system_instruction_reaches_the_upstream(front, gemd):
    via_front, native = client(front.base), client(gemd.base, KEY)
    ask = dict(model=MODEL, contents="What is your name?",
               config=types.GenerateContentConfig(system_instruction="You are a pirate named Bob.", **GREEDY))
    r, direct = via_front.models.generate_content(**ask), native.models.generate_content(**ask)
    plain = native.models.generate_content(model=MODEL, contents="What is your name?",
                                           config=types.GenerateContentConfig(**GREEDY))
    assert r.text == direct.text
    assert r.usage_metadata.prompt_token_count == direct.usage_metadata.prompt_token_count
    # ...and it was not dropped on the way: without one, Qwen2.5's template writes its own
    # default system prompt ("You are Qwen, created by Alibaba Cloud…"), a different count.
    assert r.usage_metadata.prompt_token_count != plain.usage_metadata.prompt_token_count


def test_a_chat_keeps_its_turns(front, gemd):
    via_front, native = client(front.base), client(gemd.base, KEY)
    config = types.GenerateContentConfig(**GREEDY)
    answers = []
    for c in (via_front, native):
        chat = c.chats.create(model=MODEL, config=config)
        chat.send_message("My name is Alice. Say hello.")
        answers.append(chat.send_message("What is my name?"))
    r, direct = answers
    assert r.text and r.text == direct.text, (r.text, direct.text)
    assert r.usage_metadata.prompt_token_count == direct.usage_metadata.prompt_token_count, "both turns sent"


def test_a_forced_call_then_its_result_answered_in_text(front, gemd):
    c, native = client(front.base), client(gemd.base, KEY)
    question = types.Content(role="user", parts=[types.Part(text="What's the weather in Paris?")])
    r = c.models.generate_content(model=ROOMY, contents=[question], config=types.GenerateContentConfig(**forced()))
    calls = r.function_calls
    assert calls and calls[0].name == "get_weather", r
    assert isinstance(calls[0].args["city"], str) and calls[0].args["city"], calls[0].args
    assert r.candidates[0].finish_reason == types.FinishReason.STOP

    # The call goes back as an assistant tool_call, the result as the `tool` message answering
    # it; NONE so the model must write text (AUTO may call again, at the model's whim).
    result = types.Part.from_function_response(name="get_weather", response={"temperature_c": 21, "sky": "sunny"})
    ask = dict(model=ROOMY, contents=[question, r.candidates[0].content, types.Content(role="user", parts=[result])],
               config=types.GenerateContentConfig(
                   tools=[types.Tool(function_declarations=[WEATHER])], temperature=0, max_output_tokens=48,
                   tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="NONE"))))
    final, direct = c.models.generate_content(**ask), native.models.generate_content(**ask)
    assert final.text and not final.function_calls, final
    # The same three turns, as the engine's prompt: the same greedy text from the same tokens.
    assert final.text == direct.text, (final.text, direct.text)
    assert final.usage_metadata.prompt_token_count == direct.usage_metadata.prompt_token_count


def test_json_output_follows_the_response_schema(front):
    c = client(front.base)
    schema = types.Schema(type="OBJECT", properties={"answer": types.Schema(type="INTEGER")}, required=["answer"])
    r = c.models.generate_content(
        model=ROOMY, contents="What is 2+2? Answer in JSON.",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema,
                                           temperature=0, max_output_tokens=32))
    doc = json.loads(r.text)
    assert set(doc) == {"answer"} and isinstance(doc["answer"], int), r.text


def test_count_tokens_is_gemds_estimate(front, gemd):
    # Chat completions have no token counting: the front answers its own estimate, one token
    # per four characters of the request's strings (here the text and its role, "user").
    text = "How many tokens is this sentence, all told?"
    c = client(front.base)
    n = c.models.count_tokens(model=MODEL, contents=text).total_tokens
    assert n == math.ceil(len(text + "user") / 4), n


def test_the_backend_is_named_in_x_gemd_backend(front):
    r = requests.post(f"{front.base}/v1beta/models/{MODEL}:generateContent",
                      json={"contents": [{"parts": [{"text": "Say hi"}]}], "generationConfig": {"maxOutputTokens": 8}},
                      headers={"x-goog-api-key": FRONT_KEY}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["x-gemd-backend"] == "default"
    assert r.json()["candidates"][0]["content"]["parts"][0]["text"]


# ---- (b) llama-cpp-python's server as the upstream ---------------------------------------

def wait_until_up(url, proc, log, timeout=120):
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"{url} did not answer:\n" + log.read_text())
        try:
            r = requests.get(url, timeout=5)
            if r.status_code == 200:
                return r.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.2)


@pytest.fixture(scope="module")
def llama_cpp_front(tmp_path_factory):
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as e:
        pytest.fail(f"{e}: pip install -r tests/python/requirements-upstreams.txt (scripts/test.sh does)")
    tmp = tmp_path_factory.mktemp("front-llama-cpp")
    # `gemd pull` verifies the model (fetching it if missing) and prints its path.
    gguf = subprocess.run([_binary(), "pull", "smollm2-135m-instruct"], check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp / "llama-cpp.log"
    # chatml-function-calling: SmolLM2's turns are ChatML, and this format is the one of the
    # server's that takes `tools` and a named `tool_choice` (the GGUF's own template ignores
    # tools).
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1",
                                 "--port", str(port), "--n_ctx", "2048", "--chat_format", "chatml-function-calling"],
                                stdout=out, stderr=subprocess.STDOUT)
    g = None
    try:
        models = wait_until_up(f"http://127.0.0.1:{port}/v1/models", proc, log)
        # The server lists one model, named by its path unless --model_alias says otherwise.
        name = models["data"][0]["id"]
        g = spawn_front(tmp, {"kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": name,
                              "capabilities": ["text", "tools", "json_schema", "top_k"], "timeout_seconds": 120})
        yield g
    finally:
        if g:
            stop(g)
        proc.terminate()
        proc.wait(timeout=30)


def test_llama_cpp_generate(llama_cpp_front):
    c = client(llama_cpp_front.base)
    r = c.models.generate_content(model=MODEL, contents="What is the capital of France?",
                                  config=types.GenerateContentConfig(temperature=0, top_k=20, max_output_tokens=16))
    assert r.text and r.text.strip(), r
    assert_finished(r)
    assert r.model_version == MODEL


def test_llama_cpp_stream(llama_cpp_front):
    c = client(llama_cpp_front.base)
    chunks = list(c.models.generate_content_stream(model=MODEL, contents="Count from one to five.",
                                                   config=types.GenerateContentConfig(max_output_tokens=16)))
    assert len(chunks) > 1 and "".join(ch.text or "" for ch in chunks).strip(), chunks
    last = chunks[-1]
    assert last.candidates[0].finish_reason in (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS), last
    assert all(ch.candidates[0].finish_reason is None for ch in chunks[:-1])
    # llama-cpp-python 0.3.36 ignores `stream_options.include_usage`: its stream ends with the
    # finish_reason chunk and [DONE], no usage chunk. Gemini's last chunk always has the usage,
    # so gemd writes its estimate there (the prompt as admitted; a token per four characters of
    # what streamed): positive, and adding up (gemd's own layer, above, sends exact counts).
    assert all(ch.usage_metadata is None for ch in chunks[:-1]), chunks
    u = last.usage_metadata
    text = "".join(ch.text or "" for ch in chunks)
    assert u.prompt_token_count > 0 and u.candidates_token_count == max(1, -(-len(text) // 4)), (u, text)
    assert u.total_token_count == u.prompt_token_count + u.candidates_token_count, u


def test_llama_cpp_forced_call(llama_cpp_front):
    # ANY with one allowed function is sent as the named tool_choice, which llama-cpp-python's
    # chatml-function-calling format constrains with that function's grammar.
    c = client(llama_cpp_front.base)
    r = c.models.generate_content(model=MODEL, contents="What's the weather in Paris?",
                                  config=types.GenerateContentConfig(max_output_tokens=48, **forced("get_weather")))
    calls = r.function_calls
    assert calls and calls[0].name == "get_weather", r
    assert isinstance(calls[0].args.get("city"), str), calls[0].args


def test_llama_cpp_any_over_several_functions_is_its_500(llama_cpp_front):
    # ANY over two functions is `tool_choice: "required"`, which llama-cpp-python 0.3.36's
    # chatml-function-calling does not implement (`assert tool_choice == "auto"` in
    # llama_chat_format.py): a 500, which gemd treats as an upstream failure, retried and then
    # 503 naming the backend. Last in the file: one failed call, far from the circuit
    # breaker's three in a row.
    time_fn = types.FunctionDeclaration(name="get_time", description="Get the local time of a city.",
                                        parameters=WEATHER.parameters)
    r = requests.post(
        f"{llama_cpp_front.base}/v1beta/models/{MODEL}:generateContent",
        json={"contents": [{"parts": [{"text": "What's the weather in Paris?"}]}],
              "tools": [{"functionDeclarations": [WEATHER.model_dump(exclude_none=True),
                                                  time_fn.model_dump(exclude_none=True)]}],
              "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}, "generationConfig": {"maxOutputTokens": 48}},
        headers={"x-goog-api-key": FRONT_KEY}, timeout=120)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["status"] == "UNAVAILABLE" and "tried default" in r.json()["error"]["message"], r.text
