"""Context caching through google-genai's own calls: caches.create from a ~1,500-token
document, generate_content with it (the answer reads the document, and a greedy answer equals
the same request sent whole), countTokens with it, caches.list/get/update/delete; Google's
refusals (too small, overriding the system instruction, another model, another project's key,
expired); and a restart between create and use."""
import time

import pytest
import requests
from google import genai
from google.genai import types

from conftest import KEY, MODEL, fresh_store, spawn_gemd, stop

ADMIN = "cache-test-admin-token"
CODE_WORD = "HELIOTROPE"


def document():
    """About 1,500 tokens of plain prose with one fact in the middle."""
    filler = ("The warehouse ledger lists crates of bolts, washers and hinges by aisle and shelf. "
              "Each entry records the date it arrived and the clerk who counted it. ")
    middle = f"The secret code word of the warehouse is {CODE_WORD}. "
    return filler * 40 + middle + filler * 40


def client(base, key=KEY):
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base))


@pytest.fixture(scope="module")
def served():
    store = fresh_store()
    g = spawn_gemd(*store, env={"GEMD_ADMIN_TOKEN": ADMIN})
    yield g, store
    stop(g)


def other_project_key(g):
    """A key of a project of its own, made through the admin API."""
    s = requests.Session()
    r = s.post(f"{g.base}/admin/v1/sessions", json={"token": ADMIN}, timeout=30)
    s.headers["authorization"] = "Bearer " + r.json()["session"]
    project = s.post(f"{g.base}/admin/v1/projects", json={"displayName": "other"}, timeout=30).json()["id"]
    return s.post(f"{g.base}/admin/v1/projects/{project}/keys", json={"displayName": "k"}, timeout=30).json()["secret"]


def create(c, ttl="600s", text=None):
    return c.caches.create(model=MODEL, config=types.CreateCachedContentConfig(
        display_name="warehouse", ttl=ttl,
        system_instruction="Answer from the document, briefly.",
        contents=[types.Content(role="user", parts=[types.Part(text=text or document())])]))


def test_a_cache_answers_like_the_whole_request_and_counts_its_tokens(served):
    g, _ = served
    c = client(g.base)
    cache = create(c)
    assert cache.name.startswith("cachedContents/") and cache.model == f"models/{MODEL}"
    assert cache.display_name == "warehouse" and cache.usage_metadata.total_token_count >= 1024
    question = "What is the secret code word of the warehouse?"
    greedy = dict(temperature=0, max_output_tokens=24)
    with_cache = c.models.generate_content(
        model=MODEL, contents=question, config=types.GenerateContentConfig(cached_content=cache.name, **greedy))
    whole = c.models.generate_content(
        model=MODEL, contents=[types.Content(role="user", parts=[types.Part(text=document())]),
                               types.Content(role="user", parts=[types.Part(text=question)])],
        config=types.GenerateContentConfig(system_instruction="Answer from the document, briefly.", **greedy))
    assert CODE_WORD.lower() in with_cache.text.lower(), with_cache.text
    assert with_cache.text == whole.text, "the cache is the request's first part, nothing else"
    assert with_cache.usage_metadata.prompt_token_count == whole.usage_metadata.prompt_token_count
    assert with_cache.usage_metadata.prompt_token_count > cache.usage_metadata.total_token_count

    streamed = c.models.generate_content_stream(
        model=MODEL, contents=question, config=types.GenerateContentConfig(cached_content=cache.name, **greedy))
    assert "".join(ch.text or "" for ch in streamed) == whole.text

    r = requests.post(f"{g.base}/v1beta/models/{MODEL}:countTokens", headers={"x-goog-api-key": KEY}, timeout=60,
                      json={"generateContentRequest": {"model": f"models/{MODEL}", "cachedContent": cache.name,
                                                       "contents": [{"role": "user", "parts": [{"text": question}]}]}})
    assert r.status_code == 200, r.text
    assert r.json()["totalTokens"] > cache.usage_metadata.total_token_count


def test_list_get_update_delete(served):
    g, _ = served
    c = client(g.base)
    cache = create(c)
    assert cache.name in [x.name for x in c.caches.list()]
    got = c.caches.get(name=cache.name)
    assert got.name == cache.name and got.usage_metadata.total_token_count == cache.usage_metadata.total_token_count
    updated = c.caches.update(name=cache.name, config=types.UpdateCachedContentConfig(ttl="7200s"))
    assert updated.expire_time > cache.expire_time
    c.caches.delete(name=cache.name)
    with pytest.raises(genai.errors.ClientError) as e:
        c.caches.get(name=cache.name)
    assert e.value.code == 403


def test_googles_refusals(served):
    g, _ = served
    c = client(g.base)
    with pytest.raises(genai.errors.ClientError) as e:
        create(c, text="too short")
    assert e.value.code == 400 and "Cached content is too small. total_token_count=" in e.value.message
    cache = create(c)
    with pytest.raises(genai.errors.ClientError) as e:
        c.models.generate_content(model=MODEL, contents="hi", config=types.GenerateContentConfig(
            cached_content=cache.name, system_instruction="override"))
    assert e.value.code == 400 and "can not be used with GenerateContent request setting" in e.value.message
    with pytest.raises(genai.errors.ClientError) as e:
        c.models.generate_content(model="gemini-2.5-flash-lite", contents="hi",
                                  config=types.GenerateContentConfig(cached_content=cache.name))
    assert e.value.code == 400 and "has to be the same" in e.value.message
    with pytest.raises(genai.errors.ClientError) as e:
        c.models.generate_content(model=MODEL, contents="hi",
                                  config=types.GenerateContentConfig(cached_content="cachedContents/nope"))
    assert e.value.code == 403


def test_another_projects_key_cannot_use_it_and_an_expired_cache_is_gone(served):
    g, _ = served
    c = client(g.base)
    cache = create(c)
    other = client(g.base, other_project_key(g))
    for call in (lambda: other.caches.get(name=cache.name), lambda: other.caches.delete(name=cache.name),
                 lambda: other.models.generate_content(
                     model=MODEL, contents="hi", config=types.GenerateContentConfig(cached_content=cache.name))):
        with pytest.raises(genai.errors.ClientError) as e:
            call()
        assert e.value.code == 403
    assert cache.name not in [x.name for x in other.caches.list()]
    assert c.caches.get(name=cache.name).name == cache.name, "still there for its own project"
    short = create(c, ttl="1s")
    time.sleep(1.5)
    with pytest.raises(genai.errors.ClientError) as e:
        c.caches.get(name=short.name)
    assert e.value.code == 403


def test_a_cache_survives_a_restart():
    store = fresh_store()
    g = spawn_gemd(*store)
    c = client(g.base)
    cache = create(c)
    stop(g)
    g2 = spawn_gemd(*store)
    try:
        c2 = client(g2.base)
        r = c2.models.generate_content(model=MODEL, contents="What is the secret code word of the warehouse?",
                                       config=types.GenerateContentConfig(cached_content=cache.name,
                                                                          temperature=0, max_output_tokens=24))
        assert CODE_WORD.lower() in r.text.lower(), r.text
    finally:
        stop(g2)
