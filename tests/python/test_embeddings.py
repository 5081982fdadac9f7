"""Embeddings through the real SDKs against the spawned gemd (all-MiniLM-L6-v2, 384
dimensions): google-genai (`embed_content` always calls :batchEmbedContents),
google-generativeai (`embed_content` calls :embedContent for one text, :batchEmbedContents for
a list, and sends taskType as an enum number), and openai (`embeddings.create` on the
OpenAI-compatible layer, base64 by default, floats on request)."""
import math

import google.generativeai as genai_old
import openai
import pytest
from google import genai
from google.genai import errors, types

from conftest import KEY

DIM = 384


def client(base, **http):
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=base, **http))


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


def test_genai_single_text(base):
    c = client(base)  # keep a reference: the SDK closes its HTTP client when the Client is collected
    r = c.models.embed_content(model="gemini-embedding-001", contents="What is the meaning of life?")
    assert len(r.embeddings) == 1
    assert len(r.embeddings[0].values) == DIM
    assert abs(norm(r.embeddings[0].values) - 1) < 1e-4


def test_genai_many_texts_with_config(base):
    texts = ["A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply today."]
    c = client(base, api_version="v1beta")
    r = c.models.embed_content(
        model="text-embedding-004",
        contents=texts,
        config=types.EmbedContentConfig(task_type="SEMANTIC_SIMILARITY", output_dimensionality=256),
    )
    v = [e.values for e in r.embeddings]
    assert [len(x) for x in v] == [256, 256, 256]
    assert all(abs(norm(x) - 1) < 1e-4 for x in v)
    assert cosine(v[0], v[1]) > cosine(v[0], v[2]) + 0.3


def test_genai_more_dimensions_than_the_model_has_is_a_400(base):
    c = client(base)
    with pytest.raises(errors.ClientError) as e:
        c.models.embed_content(
            model="gemini-embedding-001", contents=["a", "b"],
            config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", output_dimensionality=768),
        )
    assert e.value.code == 400
    assert "output_dimensionality" in str(e.value)


def test_genai_generative_ids_do_not_embed(base):
    c = client(base)
    with pytest.raises(errors.ClientError) as e:
        c.models.embed_content(model="gemini-2.5-flash", contents="hello")
    assert e.value.code == 404
    assert "not supported for batchEmbedContents" in str(e.value)


def test_genai_model_info_lists_embed_content(base):
    c = client(base)
    m = c.models.get(model="gemini-embedding-001")
    assert "embedContent" in m.supported_actions
    assert m.input_token_limit == 256


@pytest.fixture
def old_sdk(base):
    genai_old.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": base})


def test_generativeai_single_text_with_task_type_and_title(old_sdk, base):
    r = genai_old.embed_content(model="models/text-embedding-004", content="What is the meaning of life?",
                                task_type="retrieval_document", title="Life")
    assert len(r["embedding"]) == DIM
    plain = genai_old.embed_content(model="models/text-embedding-004", content="What is the meaning of life?",
                                    task_type="retrieval_query")
    assert cosine(plain["embedding"], r["embedding"]) < 0.999, "the document's title is embedded with it"
    c = client(base)
    same = c.models.embed_content(model="text-embedding-004", contents="What is the meaning of life?")
    assert cosine(plain["embedding"], same.embeddings[0].values) > 0.9999, "both SDKs get the same vector"


def test_generativeai_list_of_texts(old_sdk):
    r = genai_old.embed_content(model="models/text-embedding-004", content=["a", "b"], output_dimensionality=64)
    assert [len(v) for v in r["embedding"]] == [64, 64]


def openai_client(base):
    return openai.OpenAI(api_key=KEY, base_url=f"{base}/v1beta/openai/", max_retries=0)


def test_openai_base64_default_and_float_agree_with_the_native_vector(base):
    c = openai_client(base)
    b64 = c.embeddings.create(model="gemini-embedding-001", input="Your text string goes here")  # SDK asks base64
    flt = c.embeddings.create(model="gemini-embedding-001", input=["a", "Your text string goes here"], encoding_format="float")
    assert b64.object == "list" and len(b64.data) == 1 and len(flt.data) == 2
    assert [d.index for d in flt.data] == [0, 1]
    assert len(b64.data[0].embedding) == DIM
    assert cosine(b64.data[0].embedding, flt.data[1].embedding) > 0.999999
    assert flt.usage.prompt_tokens == flt.usage.total_tokens > 0
    g = client(base)
    native = g.models.embed_content(model="gemini-embedding-001", contents="Your text string goes here")
    assert cosine(native.embeddings[0].values, flt.data[1].embedding) > 0.999999


def test_openai_dimensions_and_refusals(base):
    c = openai_client(base)
    r = c.embeddings.create(model="text-embedding-004", input="hello", dimensions=32, encoding_format="float")
    assert len(r.data[0].embedding) == 32
    with pytest.raises(openai.BadRequestError):
        c.embeddings.create(model="text-embedding-004", input="hello", dimensions=1536)
    with pytest.raises(openai.NotFoundError):
        c.embeddings.create(model="gemini-2.5-flash", input="hello")
