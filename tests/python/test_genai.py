"""google-genai (the current SDK) against gemd, pointed there by base_url only."""
import asyncio

import pytest
from google import genai
from google.genai import errors, types

from conftest import KEY, MODEL


def client(base, key=KEY, **http):
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base, **http))


def test_generate_v1_default(base):
    c = client(base)
    r = c.models.generate_content(model=MODEL, contents="Explain how AI works")
    assert r.text
    assert r.candidates[0].finish_reason in (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS)
    u = r.usage_metadata
    assert u.prompt_token_count + u.candidates_token_count == u.total_token_count
    assert r.model_version == MODEL


def test_generate_v1beta_with_config(base):
    c = client(base, api_version="v1beta")
    r = c.models.generate_content(
        model=MODEL,
        contents="Write a haiku about the sea",
        config=types.GenerateContentConfig(temperature=0.7, top_p=0.9, top_k=40, candidate_count=1,
                                           max_output_tokens=16, stop_sequences=["END"], seed=7),
    )
    assert r.text is not None
    assert "END" not in r.text
    assert r.usage_metadata.candidates_token_count <= 16


def test_system_instruction_and_thinking_config(base):
    c = client(base)
    r = c.models.generate_content(
        model=MODEL, contents="Hello there",
        config=types.GenerateContentConfig(system_instruction="You are a cat. Your name is Neko.",
                                           thinking_config=types.ThinkingConfig(thinking_budget=0)),
    )
    assert r.text


def test_stream(base):
    c = client(base)
    chunks = list(c.models.generate_content_stream(model=MODEL, contents="Explain how AI works"))
    assert len(chunks) >= 1
    assert "".join(ch.text or "" for ch in chunks)
    assert chunks[-1].candidates[0].finish_reason is not None
    assert all(ch.candidates[0].finish_reason is None for ch in chunks[:-1])


def test_chat_keeps_history(base):
    c = client(base)
    chat = c.chats.create(model=MODEL)
    first = chat.send_message("Hi, I want to learn Python.")
    second = chat.send_message("Where should I start?")
    assert first.text and second.text
    assert len(chat.get_history()) == 4


def test_count_tokens_matches_generation(base):
    c = client(base)
    n = c.models.count_tokens(model=MODEL, contents="Explain how AI works").total_tokens
    r = c.models.generate_content(model=MODEL, contents="Explain how AI works",
                                  config=types.GenerateContentConfig(max_output_tokens=1))
    assert n == r.usage_metadata.prompt_token_count


def test_list_and_get_models(base):
    c = client(base)
    names = [m.name for m in c.models.list()]
    assert "models/gemini-2.5-flash" in names and "models/gemma-3-27b-it" in names
    m = c.models.get(model=MODEL)
    assert m.input_token_limit > 0 and m.output_token_limit == 48


def test_async_client(base):
    async def go():
        c = client(base)
        r = await c.aio.models.generate_content(model=MODEL, contents="Say hi")
        chunks = [ch async for ch in await c.aio.models.generate_content_stream(model=MODEL, contents="Say hi")]
        return r, chunks
    r, chunks = asyncio.run(go())
    assert r.text and chunks


def test_invalid_key_is_client_error_400(base):
    c = client(base, key="AIzaSyWrongWrongWrongWrongWrongWrong000")
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(model=MODEL, contents="hi")
    assert e.value.code == 400
    assert e.value.status == "INVALID_ARGUMENT"
    assert "API key not valid" in e.value.message


def test_unknown_model_is_404(base):
    c = client(base)
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(model="gemini-9-ultra", contents="hi")
    assert e.value.code == 404
