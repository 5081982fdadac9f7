"""The deployment recipe of docs/deployment.md, run on this machine with every piece real:
two engine gemds (tests/python/gemd-engine-test.toml: SmolLM2-135M) reached as the upstream
backends `up1` and `up2`, and two front replicas that load no model, share one PostgreSQL
database (projects, keys, the usage ledger) and one Redis (the quota windows), and serve
gemini-2.5-flash by `backends = ["up1", "up2"]` under a limit of RPM requests a minute.

A bounded load alternates between the replicas, and engine 1 is killed with SIGKILL while a
long stream is running on it. Checked, because the recipe promises it:
- every request ends in a 200 with a real answer or in a google.rpc error envelope, never in
  a reset or a hang (every call has a timeout);
- the stream engine 1 was sending ends with an error event, not a silent cut;
- requests that start after the kill are answered by up2 (`x-gemd-backend`);
- the limit is one limit over both replicas: exactly RPM requests are admitted and every
  other one is a 429 RESOURCE_EXHAUSTED. A request that no backend could answer would be
  refunded (crates/server/src/gemini/upstream.rs), but up2 stays up, so every admitted
  request is answered (or cut, which is charged: it used the engine);
- the ledger in PostgreSQL, and the admin API of both replicas, agree with what was answered.

The RPM window slides (a request counts for the 60 s after its admission, checked and taken
in one Lua script), so there is no minute boundary to fall on: the whole load runs in far
less than 60 s, and the project is created fresh for each run, so no earlier run's requests
are in its window. The last test shows what a replica does when PostgreSQL drops its
connection."""
import contextlib
import json
import queue
import subprocess
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from conftest import KEY, MODEL, _binary, free_port, front_config, fresh_store, spawn_gemd, stop

RPM = 20
LOAD = 40                 # requests of the load, on top of the long stream
THREADS = 4
ANSWERS_BEFORE_KILL = 4   # engine 1 dies once this many load requests were answered
ADMIN = "deployment-test-admin-token"
# (connect, read): a replica that stops answering fails the call instead of hanging the test.
TIMEOUT = (5, 30)
ENGINE_CONFIG = "tests/python/gemd-engine-test.toml"


def psql(url, sql):
    """One statement through psql (the services script puts it on PATH); its rows, unaligned."""
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@contextlib.contextmanager
def fresh_database(postgres_url):
    """A database of its own on the test server, so a rerun starts from an empty store."""
    name = f"gemd_deploy_{uuid.uuid4().hex[:12]}"
    psql(postgres_url, f"CREATE DATABASE {name}")
    try:
        yield urllib.parse.urlsplit(postgres_url)._replace(path="/" + name).geturl()
    finally:
        psql(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def gemd_cli(*args):
    """A `gemd` admin command (projects, keys): its stdout."""
    out = subprocess.run([_binary(), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def spawn_together(pool, procs, *arg_lists, config):
    """Starts one gemd per argument list at once. Each one that started is added to `procs`
    (which the caller stops) even when another failed to start."""
    futures = [pool.submit(spawn_gemd, *args, config=config) for args in arg_lists]
    failed = None
    for f in futures:
        try:
            procs.append(f.result())
        except Exception as e:  # noqa: BLE001 (re-raised below, after the others are kept)
            failed = failed or e
    if failed:
        raise failed
    return procs[-len(futures):]


def body(text, tokens):
    return {"contents": [{"parts": [{"text": text}]}],
            "generationConfig": {"maxOutputTokens": tokens, "temperature": 0}}


@dataclass
class Result:
    """One request as the client saw it."""
    replica: str
    stream: bool
    started: float
    ended: float = 0.0
    status: int = 0
    backend: str = None
    json: object = None          # the unary answer or error body
    events: list = field(default_factory=list)   # a stream's SSE events, parsed
    broken: str = None           # a transport failure: reset, timeout, not JSON

    @property
    def usage(self):
        """The last usageMetadata the client saw (what the ledger should hold)."""
        seen = [e["usageMetadata"] for e in ([self.json] if self.json else self.events)
                if isinstance(e, dict) and "usageMetadata" in e]
        return seen[-1] if seen else None


def call(session, base, replica, key, stream, request, on_event=None):
    """Sends one generate call and reads its whole answer; never raises."""
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    r = Result(replica, stream, time.monotonic())
    try:
        resp = session.post(f"{base}/v1beta/models/{MODEL}:{method}", json=request,
                            headers={"x-goog-api-key": key}, timeout=TIMEOUT, stream=stream)
        r.status, r.backend = resp.status_code, resp.headers.get("x-gemd-backend")
        if stream and resp.status_code == 200:
            for line in resp.iter_lines():
                if line.startswith(b"data: "):
                    r.events.append(json.loads(line[6:]))
                    if on_event:
                        on_event(r)
        else:
            r.json = resp.json()
    except (requests.RequestException, ValueError) as e:
        r.broken = f"{type(e).__name__}: {e}"
    r.ended = time.monotonic()
    return r


def envelope(b, status):
    """The google.rpc.Status error `b` is, checked: {"error": {"code", "message", "status"}}."""
    e = b["error"]
    assert e["code"] == status and isinstance(e["message"], str) and e["message"], b
    assert isinstance(e["status"], str) and e["status"].isupper(), b
    return e


def outcome(r):
    """"answered" (a real answer), "cut" (an answer that broke off: charged), "refused" (the
    quota's 429: not charged), else fails the test with what the client got."""
    assert r.broken is None, f"a transport failure, not an answer: {r.broken}"
    if r.status == 200 and r.stream:
        assert r.events, "a stream with no event"
        last = r.events[-1]
        if "error" in last:
            e = envelope(last, 503)
            assert e["status"] == "UNAVAILABLE" and "cut off" in e["message"], last
            return "cut"
        text = "".join(p.get("text", "") for ev in r.events for c in ev.get("candidates", [])
                       for p in c.get("content", {}).get("parts", []))
        assert text and last["candidates"][0]["finishReason"] in ("STOP", "MAX_TOKENS"), r.events
        return "answered"
    if r.status == 200:
        c = r.json["candidates"][0]
        assert c["content"]["parts"][0]["text"] and c["finishReason"] in ("STOP", "MAX_TOKENS"), r.json
        return "answered"
    e = envelope(r.json, r.status)
    if r.status == 429:
        assert e["status"] == "RESOURCE_EXHAUSTED", r.json
        return "refused"
    # A unary answer whose upstream broke off after its headers: 503, and charged.
    assert r.status == 503 and "cut off" in e["message"], f"an unexpected error: {r.status} {r.json}"
    return "cut"


@dataclass
class Run:
    fronts: dict
    database: str
    project: str
    results: list
    long: Result
    killed_at: float
    quota: dict        # replica → its admin API's quota entry for MODEL, read right after the load


@pytest.fixture(scope="module")
def run(redis_url, postgres_url, tmp_path_factory):
    """Starts the recipe, runs the load with engine 1 killed half-way, and keeps the fronts up
    for the checks; everything started is stopped at the end, the database dropped."""
    tmp = tmp_path_factory.mktemp("deployment")
    procs = []
    with fresh_database(postgres_url) as database, ThreadPoolExecutor(4) as pool:
        try:
            up1, up2 = spawn_together(pool, procs, fresh_store(), fresh_store(), config=ENGINE_CONFIG)
            # The recipe's first step: create the schema (replicas starting together on the
            # empty database would also do it, one after the other). The project and its
            # key are made there too, as an operator would.
            store = ["--database-url", database]
            gemd_cli("projects", "list", *store)
            # It prints the project's row: id, tier, name.
            project = gemd_cli("projects", "create", "deployment test", "--tier", "free", *store).split("\t")[0]
            key = gemd_cli("keys", "create", "--project", project, "--name", "load", *store)
            # `default` is an upstream only so that the fronts load no model of their own.
            config = front_config(tmp / "front.toml", {"default": up1.base, "up1": up1.base, "up2": up2.base},
                                  route=["up1", "up2"], limits={"rpm": RPM})
            front = ["--database-url", database, "--redis-url", redis_url, "--admin-token", ADMIN]
            a, b = spawn_together(pool, procs, front, front, config=str(config))
            fronts = {"a": a, "b": b}
            yield Run(fronts, database, project, *load(fronts, up1, project, key))
        finally:
            for g in procs:
                stop(g)


def load(fronts, up1, project, key):
    """The long stream on engine 1, then LOAD requests from THREADS threads alternating between
    the replicas, unary and streamed; engine 1 is killed after ANSWERS_BEFORE_KILL answers.
    Returns the load's results, the long stream's, when the kill was, and each replica's
    quota entry for MODEL."""
    first_event = threading.Event()
    long_box = {}

    def long_stream():
        # Up to 256 tokens of counting: seconds of work, so it is still running at the kill.
        long_box["r"] = call(requests.Session(), fronts["a"].base, "a", key, True,
                             body("Count from 1 to 500, one number per line.", 256),
                             on_event=lambda _: first_event.set())
        first_event.set()

    answered = []
    enough = threading.Event()
    todo = queue.Queue()
    for i in range(LOAD):
        todo.put(i)
    results = []

    def worker():
        session = requests.Session()
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            name = "ab"[i % 2]
            r = call(session, fronts[name].base, name, key, stream=(i // 2) % 2 == 1,
                     request=body(f"In one short sentence: what is {i} plus {i}?", 8))
            results.append(r)
            if r.status == 200 and r.backend == "up1":
                answered.append(r)
                if len(answered) >= ANSWERS_BEFORE_KILL:
                    enough.set()

    started = time.monotonic()
    # Daemons: should a check below fail, the interpreter does not wait for them to finish.
    long_thread = threading.Thread(target=long_stream, daemon=True)
    long_thread.start()
    assert first_event.wait(30), "the long stream did not start"
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    assert enough.wait(60), f"engine 1 answered only {len(answered)} requests"
    killed_at = time.monotonic()
    up1.proc.kill()
    up1.proc.wait(timeout=10)
    for t in threads + [long_thread]:
        t.join(timeout=120)
        assert not t.is_alive(), "a request hung past its timeouts"
    took = time.monotonic() - started
    # Every request must fall in one 60 s window for "exactly RPM admitted" to hold.
    assert took < 50, f"the load took {took:.0f} s; the quota checks need it inside one minute"
    quota = {}
    for name, g in fronts.items():
        q = requests.get(f"{g.base}/admin/v1/projects/{project}/quota",
                         headers={"Authorization": f"Bearer {ADMIN}"}, timeout=TIMEOUT).json()
        quota[name] = next(m for m in q["models"] if m["model"] == MODEL)
    return results, long_box["r"], killed_at, quota


def test_every_request_is_an_answer_or_an_error_envelope(run):
    kinds = [outcome(r) for r in run.results + [run.long]]
    assert kinds.count("answered") > 0 and kinds.count("refused") > 0, kinds
    for r in run.results + [run.long]:
        if r.status == 429:
            assert r.backend is None, "refused by the front's quota, before any backend"


def test_the_stream_engine_1_was_sending_ends_with_an_error_event(run):
    r = run.long
    assert r.status == 200 and r.backend == "up1"
    assert len(r.events) >= 2 and r.ended > run.killed_at, "it was running when engine 1 died"
    assert outcome(r) == "cut"
    assert "up1" in r.events[-1]["error"]["message"]


def test_requests_after_the_kill_are_answered_by_up2(run):
    before = [r for r in run.results if r.status == 200 and r.ended < run.killed_at]
    after = [r for r in run.results if r.status == 200 and r.started > run.killed_at]
    assert before and {r.backend for r in before} == {"up1"}, "up1 is first in the list while it lives"
    assert after, "some admitted requests came after the kill"
    assert {r.backend for r in after} == {"up2"}
    assert {r.replica for r in after} == {"a", "b"}, "both replicas fail over"
    assert all(outcome(r) == "answered" for r in after)


def test_both_replicas_enforce_one_limit(run):
    everything = run.results + [run.long]
    kinds = [outcome(r) for r in everything]
    charged = kinds.count("answered") + kinds.count("cut")
    assert charged == RPM, f"{charged} admitted over both replicas, the limit is {RPM}: {kinds}"
    assert kinds.count("refused") == len(everything) - RPM
    admitted_by = {name: sum(1 for r, k in zip(everything, kinds) if r.replica == name and k != "refused")
                   for name in run.fronts}
    assert all(admitted_by.values()), f"each replica admitted some: {admitted_by}"
    # Both replicas read the one window in Redis.
    for name, q in run.quota.items():
        assert q["limits"]["rpm"] == RPM, q
        assert q["used"]["requestsThisMinute"] == RPM, (name, q)


def wait_for(fn, want, seconds=10):
    """`fn()` once it equals `want` (rows written in the background land within moments)."""
    deadline = time.monotonic() + seconds
    while (got := fn()) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def test_the_ledger_in_postgresql_agrees_with_the_answers(run):
    everything = run.results + [run.long]
    charged = [r for r in everything if outcome(r) != "refused"]

    def ledger():
        row = psql(run.database, "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(prompt_tokens), 0), "
                   "COALESCE(SUM(candidate_tokens), 0) FROM usage_daily "
                   f"WHERE project_id = '{run.project}' AND model = '{MODEL}'")
        return tuple(int(v) for v in row.split("|"))

    usage = [r.usage for r in charged]
    if all(usage):
        # The ledger holds the upstream's own usage, the last the client saw of each answer.
        want = (len(charged), sum(u["promptTokenCount"] for u in usage),
                sum(u.get("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0) for u in usage))
        assert wait_for(ledger, want) == want
    else:
        # A unary answer cut after its headers carries no usage to compare: its row holds
        # gemd's estimate of the prompt. Requests still have to agree.
        assert wait_for(lambda: ledger()[0], len(charged)) == len(charged)
    def refusals():
        return int(psql(run.database, f"SELECT COUNT(*) FROM refusals WHERE project_id = '{run.project}'"))

    assert wait_for(refusals, len(everything) - len(charged)) == len(everything) - len(charged)
    # Each replica's admin API reads the same ledger (the console's 24-hour chart).
    for g in run.fronts.values():
        hours = requests.get(f"{g.base}/admin/v1/projects/{run.project}/usage/hourly",
                             headers={"Authorization": f"Bearer {ADMIN}"}, timeout=TIMEOUT).json()["hours"]
        assert sum(h["requests"] for h in hours) == len(charged)


def test_health_endpoints_for_the_load_balancer(run):
    for g in run.fronts.values():
        r = requests.get(f"{g.base}/healthz", timeout=TIMEOUT)
        assert (r.status_code, r.text) == (200, "ok\n")
        listed = requests.get(f"{g.base}/healthz/backends", timeout=TIMEOUT).json()["backends"]
        assert {b["name"] for b in listed} == {"default", "up1", "up2"}
        # Keys and passive health: the dead up1 still shows its one key ready, but its
        # circuit opened after the failures in a row (it is skipped until a probe answers).
        for b in listed:
            assert b["kind"] == "gemini" and [k["state"] for k in b["keys"]] == ["ready"], b
            assert KEY not in json.dumps(b), "never a whole key"
            if b["name"] != "up1":
                assert b["circuit"]["state"] == "closed", b
        up1 = next(b for b in listed if b["name"] == "up1")
        assert up1["circuit"]["state"] in ("open", "probing"), up1


def test_a_replica_when_postgresql_drops_its_connection(postgres_url, tmp_path):
    """PostgreSQL restarting (or a failover, or a proxy in between timing out) ends the
    replica's connection. Stored keys need the store; static keys and /healthz do not."""
    with fresh_database(postgres_url) as database:
        store = ["--database-url", database]
        project = gemd_cli("projects", "create", "pg test", *store).split("\t")[0]
        key = gemd_cli("keys", "create", "--project", project, "--name", "pg", *store)
        # No request here reaches a backend: `default` is an upstream nobody listens on.
        config = front_config(tmp_path / "front.toml", {"default": f"http://127.0.0.1:{free_port()}"})
        g = spawn_gemd(*store, config=str(config))
        try:
            def models(k):
                return requests.get(f"{g.base}/v1beta/models", headers={"x-goog-api-key": k}, timeout=TIMEOUT)

            assert models(key).status_code == 200
            psql(database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            time.sleep(0.5)
            assert models(KEY).status_code == 200, "a static key needs no store"
            assert requests.get(f"{g.base}/healthz", timeout=TIMEOUT).status_code == 200, \
                "/healthz checks the process, not its store"
            # The server is up again at once (only the connection was dropped): the replica
            # reconnects and answers the stored key.
            assert models(key).status_code == 200, "a replica reconnects to PostgreSQL"
        finally:
            stop(g)
