// Shared by the Node test files: spawns a real gemd (the release binary, the real models) on a
// free port with a private key store, and records what the SDKs put on the wire.
import {before, after} from 'node:test';
import assert from 'node:assert/strict';
import {launchGemd} from '../support/launch-gemd.mjs';
import {fileURLToPath} from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KEY = 'AIzaSyNodeSdkTestKey000000000000000000';
export const MODEL = 'gemini-2.5-flash';
export const EMBEDDING_MODEL = 'gemini-embedding-001';
export const DIM = 384;

/**
 * Starts gemd and resolves once it answers. Each gemd gets a fresh SQLite store in a temporary
 * directory, so earlier runs' usage never counts against its quotas. `config` is relative to
 * the repository root.
 */
export async function spawnGemd({config = 'tests/python/gemd-test.toml', args = [], startTimeoutMs = 180_000} = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemd-js-'));
  const g = await launchGemd({
    args: ['--api-key', KEY, '--config', path.join(ROOT, config), '--database-url', `sqlite://${path.join(dir, 'gemd.sqlite3')}`, ...args],
    startTimeoutMs,
  });
  return {
    ...g,
    /** SIGTERM, then the exit code (0 for a clean shutdown). */
    async stop() {
      if (g.proc.exitCode === null && g.proc.signalCode === null) g.proc.kill('SIGTERM');
      const code = await g.exited;
      fs.rmSync(dir, {recursive: true, force: true});
      return code;
    },
  };
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
