"""The Files API through google-genai's own calls (files.upload of a text file, a PDF made
here, a 20 MB file in the SDK's 8 MiB chunks; files.get, files.list paging, files.delete),
then generate_content reading an uploaded file; and a gemd killed with SIGKILL in the middle
of an upload: after the restart no file is ACTIVE with part of its bytes, and the session
resumes from what was durably received."""
import base64
import hashlib
import os
import signal
import tempfile
import threading
import time

import pytest
import requests
from google import genai
from google.genai import types

from conftest import KEY, MODEL, fresh_store, spawn_gemd, stop


def start_gemd(store, files_dir):
    return spawn_gemd(*store, "--files-dir", files_dir)


@pytest.fixture(scope="module")
def served():
    g = start_gemd(fresh_store(), tempfile.mkdtemp())
    # The client is kept referenced for the module: it closes its connections when collected.
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=g.base))
    yield g, client
    stop(g)


def minimal_pdf(text):
    """A one-page PDF showing `text` in Helvetica, with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def ask(client, file, question):
    r = client.models.generate_content(
        model=MODEL,
        contents=[file, question],
        config=types.GenerateContentConfig(temperature=0, max_output_tokens=16),
    )
    return r.text or ""


def test_a_text_file_is_uploaded_listed_and_read_by_the_model(served, tmp_path):
    g, client = served
    path = tmp_path / "note.txt"
    path.write_text("The secret code word is PINEAPPLE.\n")
    f = client.files.upload(file=str(path), config={"display_name": "note", "mime_type": "text/plain"})
    assert f.name.startswith("files/") and f.state.name == "ACTIVE"
    assert (f.size_bytes, f.display_name, f.mime_type) == (path.stat().st_size, "note", "text/plain")
    assert f.sha256_hash == sha256_b64(path.read_bytes())
    assert f.uri == f"{g.base}/v1beta/files/{f.name.removeprefix('files/')}"
    assert client.files.get(name=f.name).sha256_hash == f.sha256_hash
    answer = ask(client, f, "What is the secret code word in the file? Answer with the word only.")
    assert "PINEAPPLE" in answer.upper(), answer
    tokens = client.models.count_tokens(model=MODEL, contents=[f, "word?"]).total_tokens
    assert tokens > client.models.count_tokens(model=MODEL, contents=["word?"]).total_tokens


def test_a_pdf_is_read_as_its_text(served, tmp_path):
    _, client = served
    path = tmp_path / "memo.pdf"
    path.write_bytes(minimal_pdf("The secret code word is MANGO."))
    f = client.files.upload(file=str(path))
    assert f.mime_type == "application/pdf"
    answer = ask(client, f, "What is the secret code word in the document? Answer with the word only.")
    assert "MANGO" in answer.upper(), answer


def test_a_20_mb_file_goes_up_in_chunks_and_lists_pages_and_deletes(served, tmp_path):
    _, client = served
    data = os.urandom(20 * 1024 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    big = client.files.upload(file=str(path), config={"mime_type": "application/octet-stream", "name": "big-file"})
    assert big.name == "files/big-file"
    assert (big.size_bytes, big.sha256_hash) == (len(data), sha256_b64(data))
    for i in range(3):
        client.files.upload(file=_small(tmp_path, i), config={"mime_type": "text/plain"})
    pager = client.files.list(config={"page_size": 2})
    assert len(pager.page) == 2
    names = [f.name for f in pager]  # the pager fetches the further pages itself
    assert len(names) == len(set(names)) and "files/big-file" in names and len(names) >= 4
    client.files.delete(name="files/big-file")
    with pytest.raises(genai.errors.ClientError) as e:
        client.files.get(name="files/big-file")
    assert e.value.code == 403


def _small(tmp_path, i):
    p = tmp_path / f"small-{i}.txt"
    p.write_text(f"small file {i}\n")
    return str(p)


def test_a_kill_mid_upload_leaves_no_partial_file_and_the_session_resumes(tmp_path):
    store, files_dir = fresh_store(), str(tmp_path / "files")
    g = start_gemd(store, files_dir)
    data = os.urandom(3 * 1024 * 1024)
    start = requests.post(
        f"{g.base}/upload/v1beta/files",
        headers={"x-goog-api-key": KEY, "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
                 "X-Goog-Upload-Header-Content-Length": str(len(data)),
                 "X-Goog-Upload-Header-Content-Type": "application/octet-stream"},
        json={"file": {"name": "files/killed", "displayName": "killed"}}, timeout=30)
    assert start.headers["x-goog-upload-status"] == "active"
    session = start.headers["x-goog-upload-url"].split("/upload/", 1)[1]
    first = requests.post(f"{g.base}/upload/{session}", data=data[:1024 * 1024], timeout=30,
                          headers={"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"})
    assert first.headers["x-goog-upload-status"] == "active"

    # The second chunk trickles in; gemd is killed while it is arriving.
    def trickle():
        chunk = data[1024 * 1024:2 * 1024 * 1024]
        for i in range(0, len(chunk), 64 * 1024):
            yield chunk[i:i + 64 * 1024]
            time.sleep(0.05)

    def send():
        try:
            requests.post(f"{g.base}/upload/{session}", data=trickle(), timeout=30,
                          headers={"X-Goog-Upload-Command": "upload, finalize",
                                   "X-Goog-Upload-Offset": str(1024 * 1024)})
        except requests.RequestException:
            pass

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.4)
    os.kill(g.proc.pid, signal.SIGKILL)
    g.proc.wait(timeout=30)
    sender.join(timeout=30)

    g = start_gemd(store, files_dir)
    try:
        listed = requests.get(f"{g.base}/v1beta/files", headers={"x-goog-api-key": KEY}, timeout=30).json()
        assert listed == {}, "no file exists before its upload is finalized"
        query = requests.post(f"{g.base}/upload/{session}", headers={"X-Goog-Upload-Command": "query"}, timeout=30)
        assert query.headers["x-goog-upload-status"] == "active"
        received = int(query.headers["x-goog-upload-size-received"])
        assert 1024 * 1024 <= received < 2 * 1024 * 1024
        done = requests.post(f"{g.base}/upload/{session}", data=data[received:], timeout=60,
                             headers={"X-Goog-Upload-Command": "upload, finalize",
                                      "X-Goog-Upload-Offset": str(received)})
        assert done.headers["x-goog-upload-status"] == "final", done.text
        file = done.json()["file"]
        assert (file["state"], file["sizeBytes"], file["sha256Hash"]) == ("ACTIVE", str(len(data)), sha256_b64(data))
        assert os.listdir(os.path.join(files_dir, "staging")) == []
    finally:
        stop(g)
