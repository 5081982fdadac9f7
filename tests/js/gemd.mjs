// Shared by the Node test files: spawns a real gemd (the release binary, the real models) on a
// free port with a private key store, and records what the SDKs put on the wire.
import {before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KEY = 'AIzaSyNodeSdkTestKey000000000000000000';
export const MODEL = 'gemini-2.5-flash';
export const EMBEDDING_MODEL = 'gemini-embedding-001';
export const DIM = 384;

/** The gemd binary: `GEMD_BIN`, else the shared cargo target under ~/.cache/gemd. */
export function gemdBin() {
  if (process.env.GEMD_BIN) return process.env.GEMD_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/gemd/target');
  return path.join(target, 'release/gemd');
}

/**
 * Starts gemd and resolves once it logs `listening on http://H:P`. Each gemd gets a fresh SQLite
 * store in a temporary directory, so earlier runs' usage never counts against its quotas.
 * `config` is relative to the repository root.
 */
export async function spawnGemd({config = 'tests/python/gemd-test.toml', args = [], startTimeoutMs = 180_000} = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemd-js-'));
  const proc = spawn(gemdBin(), [
    'serve', '--host', '127.0.0.1', '--port', '0', '--api-key', KEY,
    '--config', path.join(ROOT, config),
    '--database-url', `sqlite://${path.join(dir, 'gemd.sqlite3')}`,
    ...args,
  ], {stdio: ['ignore', 'ignore', 'pipe']});
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`gemd did not start in ${startTimeoutMs} ms:\n${log}`));
    }, startTimeoutMs);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${gemdBin()}: ${e.message}`));
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gemd exited ${code}:\n${log}`));
    });
  });
  // Ready means answering HTTP, not only "listening on" in the log: gemd installs its SIGTERM
  // handler when the server first polls its shutdown future, just after that line, and a SIGTERM
  // in between kills it by signal instead of a clean exit 0 (a server race, reported).
  await waitHealthy(base, startTimeoutMs, () => log);
  return {
    base,
    proc,
    log: () => log,
    /** SIGTERM, then the exit code (0 for a clean shutdown). */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(dir, {recursive: true, force: true});
      return code;
    },
  };
}

async function waitHealthy(base, timeoutMs, log) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error(`gemd never answered ${base}/healthz:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One gemd for the whole test file: started in `before`, stopped in `after` (which checks it
 * exits 0 on SIGTERM). The returned object gets `base` once started.
 */
export function gemdForFile(options) {
  const g = {};
  before(async () => Object.assign(g, await spawnGemd(options)));
  after(async () => {
    if (g.stop) assert.equal(await g.stop(), 0, 'gemd exits 0 on SIGTERM');
  });
  return g;
}

/** A wire capture from tests/fixtures/wire (copied from the shared captures of real clients). */
export function capture(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/wire', `${name}.json`), 'utf8'));
}

/** Names of the captures under tests/fixtures/wire whose client prefix is `prefix` (e.g. `openai-js`). */
export function captureNames(prefix) {
  return fs.readdirSync(path.join(ROOT, 'tests/fixtures/wire'))
    .filter((f) => f.startsWith(`${prefix}__`) && f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** all-MiniLM-L6-v2 reference vectors computed once with sentence-transformers. */
export function minilmReference() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/embeddings/minilm-reference.json'), 'utf8'));
}

/**
 * A fetch that records each request (method, path, query, headers, parsed JSON body) and, for
 * JSON answers, the raw response text, then passes it on to `inner`.
 */
export function recorder(inner = globalThis.fetch) {
  const calls = [];
  const fetch = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init.headers ?? {}).forEach((v, k) => headers.set(k, v));
    const call = {
      method: init.method ?? (input instanceof Request ? input.method : 'GET'),
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(headers),
      body: typeof init.body === 'string' && init.body ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const res = await inner(input, init);
    call.status = res.status;
    if ((res.headers.get('content-type') ?? '').includes('json')) call.response = await res.clone().text();
    return res;
  };
  return {fetch, calls};
}

export const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
export const cosine = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));
