"""The openai SDK against gemd's OpenAI-compatible layer, pointed there by base_url only."""
import asyncio

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from conftest import KEY, MODEL

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def client(base, key=KEY):
    return OpenAI(api_key=key, base_url=f"{base}/v1beta/openai/", max_retries=0)


def error_of(exc_info):
    """The `error` object of a refusal. Like the real layer, gemd answers errors as a JSON array
    `[{"error": {...}}]`: the SDK raises by status code, its text is only `Error code: N`, and
    the body it keeps holds the details."""
    body = exc_info.value.body
    assert isinstance(body, list) and len(body) == 1, body
    return body[0]["error"]


def test_chat(base):
    r = client(base).chat.completions.create(
        model=MODEL, messages=[SYSTEM, {"role": "user", "content": "Explain to me how AI works"}])
    assert r.id.startswith("chatcmpl-")
    assert r.object == "chat.completion"
    assert r.model == MODEL
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")
    u = r.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0
    assert u.prompt_tokens + u.completion_tokens == u.total_tokens


def test_chat_params_and_history(base):
    c = client(base)
    r = c.chat.completions.create(
        model=f"models/{MODEL}",
        messages=[{"role": "developer", "content": "Answer briefly."},
                  {"role": "user", "content": [{"type": "text", "text": "Write a haiku"}]},
                  {"role": "assistant", "content": "Waves fold into foam"},
                  {"role": "user", "content": "Another one"}],
        temperature=0.7, top_p=0.9, max_tokens=12, n=1, stop=["END"], seed=7,
        presence_penalty=0.2, frequency_penalty=0.2, reasoning_effort="low",
        response_format={"type": "text"},
    )
    assert r.usage.completion_tokens <= 12
    assert "END" not in r.choices[0].message.content
    r = c.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=4,
        extra_body={"extra_body": {"google": {"thinking_config": {"thinking_budget": 0}}}})
    assert r.usage.completion_tokens <= 4


def test_stream_with_usage(base):
    chunks = list(client(base).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Explain to me how AI works"}],
        max_tokens=16, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    *content, finish, usage = chunks
    assert "".join(ch.choices[0].delta.content or "" for ch in content)
    assert all(ch.choices[0].finish_reason is None for ch in content)
    assert finish.choices[0].finish_reason in ("stop", "length")
    assert usage.choices == []
    assert 0 < usage.usage.completion_tokens <= 16
    assert usage.usage.total_tokens == usage.usage.prompt_tokens + usage.usage.completion_tokens
    assert len({ch.id for ch in chunks}) == 1


def test_stream_without_usage(base):
    chunks = list(client(base).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, stream=True))
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert all(ch.usage is None for ch in chunks)


def test_async_client(base):
    async def go():
        c = AsyncOpenAI(api_key=KEY, base_url=f"{base}/v1beta/openai", max_retries=0)
        r = await c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
        stream = await c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                                 max_tokens=4, stream=True)
        parts = [ch.choices[0].delta.content async for ch in stream if ch.choices]
        return r.choices[0].message.content, parts

    text, parts = asyncio.run(go())
    assert text is not None
    assert parts


def test_models_list_and_retrieve(base):
    c = client(base)
    ids = [m.id for m in c.models.list()]
    assert f"models/{MODEL}" in ids
    m = c.models.retrieve(MODEL)
    assert (m.id, m.object, m.owned_by) == (f"models/{MODEL}", "model", "google")
    with pytest.raises(openai.NotFoundError):
        c.models.retrieve("gemini-9-ultra")


def test_invalid_key_is_bad_request_like_the_real_layer(base):
    # The real layer answers a wrong key with 400 INVALID_ARGUMENT (API_KEY_INVALID), which the
    # SDK raises as BadRequestError, not AuthenticationError.
    with pytest.raises(openai.BadRequestError) as e:
        client(base, key="AIzaSyNotAValidKeyForThisServer0000000").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 400
    err = error_of(e)
    assert err["message"] == "API key not valid. Please pass a valid API key."
    assert err["status"] == "INVALID_ARGUMENT"
    assert err["details"][0]["reason"] == "API_KEY_INVALID"


def test_unknown_model_is_not_found(base):
    with pytest.raises(openai.NotFoundError) as e:
        client(base).chat.completions.create(model="gemini-9-ultra", messages=[{"role": "user", "content": "hi"}])
    assert error_of(e)["message"].startswith("models/gemini-9-ultra is not found")


@pytest.mark.parametrize("extra", [
    {"n": 2},
    # Function tools and json_schema are supported (test_tools.py); other kinds are not.
    {"tools": [{"type": "retrieval"}]},
    {"response_format": {"type": "xml"}},
    {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP8z4AdMOEQH6QSAM1BAQ/oQeJvAAAAAElFTkSuQmCC"}}]}]},
], ids=["n>1", "tool-kind", "response-format", "image"])
def test_unsupported_features_are_bad_requests(base, extra):
    kwargs = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **extra}
    with pytest.raises(openai.BadRequestError) as e:
        client(base).chat.completions.create(**kwargs)
    message = error_of(e)["message"]
    assert "not supported" in message or "text-only" in message, message


def test_unknown_top_level_names_are_refused_like_the_real_layer(base):
    with pytest.raises(openai.BadRequestError) as e:
        client(base).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                             extra_body={"thinking": {"type": "enabled"}})
    assert error_of(e)["message"] == 'Invalid JSON payload received. Unknown name "thinking": Cannot find field.'
