"""Files shared by replicas: two gemd sharing one PostgreSQL store and one S3 bucket (moto's
server on loopback, `files_storage = s3://bucket/prefix`, the endpoint and credentials in the
standard AWS_* variables). A file uploaded with google-genai on replica A is got and read by
the model on replica B; a resumable upload started on A and continued chunk by chunk on both
is committed whole, and the bucket keeps no staging objects after it."""
import base64
import hashlib
import os
import subprocess
import sys
import time

import boto3
import pytest
import requests
from google import genai
from google.genai import types

from conftest import KEY, MODEL, free_port, spawn_gemd, stop
from test_deployment import fresh_database

BUCKET = "gemd-files"
PREFIX = "replicas"


@pytest.fixture(scope="module")
def moto():
    """moto's S3 server on a free loopback port, with the bucket made; its endpoint."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                requests.get(endpoint, timeout=2)
                break
            except requests.ConnectionError:
                assert time.time() < deadline and proc.poll() is None, "moto's server did not start"
                time.sleep(0.2)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket=BUCKET)
        yield endpoint, s3
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def replicas(moto, postgres_url):
    endpoint, s3 = moto
    aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    procs = []
    with fresh_database(postgres_url) as database:
        args = ["--database-url", database, "--files-storage", f"s3://{BUCKET}/{PREFIX}"]
        try:
            # One after the other: the first replica makes the schema, the second starts on it.
            for _ in range(2):
                procs.append(spawn_gemd(*args, env=aws))
            yield procs[0], procs[1], s3
        finally:
            for p in procs:
                stop(p)


def client(g):
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=g.base))


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def keys(s3, under):
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/{under}")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_file_uploaded_on_one_replica_is_read_on_the_other(replicas, tmp_path):
    a, b, s3 = replicas
    ca, cb = client(a), client(b)
    path = tmp_path / "note.txt"
    path.write_text("The secret code word is PAPAYA.\n")
    up = ca.files.upload(file=str(path), config={"mime_type": "text/plain"})
    assert up.state.name == "ACTIVE"
    got = cb.files.get(name=up.name)
    assert (got.size_bytes, got.sha256_hash) == (up.size_bytes, sha256_b64(path.read_bytes()))
    assert f"{PREFIX}/files/{up.name.removeprefix('files/')}" in keys(s3, "files/")
    r = cb.models.generate_content(
        model=MODEL, contents=[got, "What is the secret code word in the file? Answer with the word only."],
        config=types.GenerateContentConfig(temperature=0, max_output_tokens=16))
    assert "PAPAYA" in (r.text or "").upper(), r.text
    cb.files.delete(name=up.name)
    with pytest.raises(genai.errors.ClientError):
        ca.files.get(name=up.name)
    assert keys(s3, "files/") == []


def test_a_resumable_upload_moves_between_replicas(replicas):
    a, b, s3 = replicas
    data = os.urandom(6 * 1024 * 1024 + 123)
    cut = [0, 2 * 1024 * 1024, 4 * 1024 * 1024, len(data)]
    start = requests.post(
        f"{a.base}/upload/v1beta/files",
        headers={"x-goog-api-key": KEY, "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
                 "X-Goog-Upload-Header-Content-Length": str(len(data)),
                 "X-Goog-Upload-Header-Content-Type": "application/octet-stream"},
        json={"file": {"name": "files/moved"}}, timeout=30)
    session = start.headers["x-goog-upload-url"].split("/upload/", 1)[1]
    # Chunks alternate A, B, A, and the last is finalized on B: each replica continues from
    # what the other staged in the bucket.
    for i, (lo, hi) in enumerate(zip(cut, cut[1:])):
        last = hi == len(data)
        to = (b if last else [a, b][i % 2]).base
        r = requests.post(f"{to}/upload/{session}", data=data[lo:hi], timeout=60,
                          headers={"X-Goog-Upload-Command": "upload, finalize" if last else "upload",
                                   "X-Goog-Upload-Offset": str(lo)})
        assert r.headers["x-goog-upload-status"] == ("final" if last else "active"), r.text
    file = r.json()["file"]
    assert (file["state"], file["sizeBytes"], file["sha256Hash"]) == ("ACTIVE", str(len(data)), sha256_b64(data))
    got = requests.get(f"{a.base}/v1beta/files/moved", headers={"x-goog-api-key": KEY}, timeout=30).json()
    assert got["sha256Hash"] == sha256_b64(data)
    objects = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/files/moved")["Contents"]
    assert [o["Size"] for o in objects] == [len(data)]
    assert keys(s3, "staging/") == [], "committing drops the staged parts"
