"""The OpenAI layer's files (`/v1beta/openai/files`) through the openai SDK: create with a
purpose, list, retrieve, delete; the same files the native surface sees. An uploaded file's
content is not downloadable (as natively: only generated files are)."""
import openai
import pytest
import requests
from openai import OpenAI

from conftest import KEY


@pytest.fixture
def client(base):
    return OpenAI(api_key=KEY, base_url=f"{base}/v1beta/openai/")


def test_a_file_is_created_listed_retrieved_and_deleted(client, base, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b'{"key": "1", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
    with open(path, "rb") as fh:
        f = client.files.create(file=fh, purpose="batch")
    assert f.id.startswith("files/") and f.object == "file"
    assert (f.bytes, f.filename, f.purpose, f.status) == (path.stat().st_size, "requests.jsonl", "batch", "processed")
    assert f.expires_at > f.created_at

    native = requests.get(f"{base}/v1beta/{f.id}", headers={"x-goog-api-key": KEY}, timeout=30).json()
    assert native["sizeBytes"] == str(f.bytes) and native["displayName"] == "requests.jsonl"

    got = client.files.retrieve(f.id)
    assert (got.id, got.bytes, got.filename) == (f.id, f.bytes, f.filename)
    assert f.id in [x.id for x in client.files.list()]
    with pytest.raises(openai.APIStatusError):
        client.files.content(f.id)

    deleted = client.files.delete(f.id)
    assert (deleted.id, deleted.deleted) == (f.id, True)
    with pytest.raises(openai.APIStatusError):
        client.files.retrieve(f.id)


def test_listing_pages_with_after(client, tmp_path):
    ids = []
    for i in range(3):
        p = tmp_path / f"n{i}.txt"
        p.write_text(f"note {i}\n")
        with open(p, "rb") as fh:
            ids.append(client.files.create(file=fh, purpose="user_data").id)
    first = client.files.list(limit=2)
    assert len(first.data) == 2 and first.has_more
    every = [x.id for x in client.files.list(limit=2)]  # the pager follows `after` itself
    assert len(every) == len(set(every)) and set(ids) <= set(every)
    for i in ids:
        client.files.delete(i)
