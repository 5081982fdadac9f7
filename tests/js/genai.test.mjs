// @google/genai (Node) against a spawned gemd: base URL and key are the only changes.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import path from 'node:path';
import {GoogleGenAI, ApiError} from '@google/genai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEY = 'AIzaSyNodeSdkTestKey000000000000000000';
const MODEL = 'gemini-2.5-flash';
let gemd;
let base;

before(async () => {
  const bin = process.env.GEMD_BIN ?? path.join(process.env.HOME, '.cache/gemd/target/release/gemd');
  gemd = spawn(bin, ['serve', '--port', '0', '--api-key', KEY, '--config', path.join(ROOT, 'tests/python/gemd-test.toml')],
               {stdio: ['ignore', 'ignore', 'pipe']});
  base = await new Promise((resolve, reject) => {
    let log = '';
    gemd.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) resolve(m[1]);
    });
    gemd.on('exit', (code) => reject(new Error(`gemd exited ${code}:\n${log}`)));
  });
});

after(async () => {
  gemd.kill('SIGTERM');
  const code = await new Promise((r) => gemd.on('exit', r));
  assert.equal(code, 0);
});

const ai = () => new GoogleGenAI({apiKey: KEY, httpOptions: {baseUrl: base}});

test('generateContent with config and system instruction', async () => {
  const r = await ai().models.generateContent({
    model: MODEL, contents: 'Write a haiku',
    config: {systemInstruction: 'You are a cat.', temperature: 0.7, topP: 0.9, maxOutputTokens: 16},
  });
  assert.ok(r.text.length > 0);
  assert.equal(r.usageMetadata.promptTokenCount + r.usageMetadata.candidatesTokenCount, r.usageMetadata.totalTokenCount);
});

test('generateContentStream', async () => {
  let text = '';
  let last;
  for await (const chunk of await ai().models.generateContentStream({model: MODEL, contents: 'Explain how AI works'})) {
    text += chunk.text ?? '';
    last = chunk;
  }
  assert.ok(text.length > 0);
  assert.ok(last.candidates[0].finishReason);
});

test('chat keeps history', async () => {
  const chat = ai().chats.create({model: MODEL});
  assert.ok((await chat.sendMessage({message: 'Hi'})).text);
  assert.ok((await chat.sendMessage({message: 'And then?'})).text);
  assert.equal(chat.getHistory().length, 4);
});

test('countTokens and models', async () => {
  const c = await ai().models.countTokens({model: MODEL, contents: 'Explain how AI works'});
  assert.ok(c.totalTokens > 0);
  const names = [];
  for await (const m of await ai().models.list()) names.push(m.name);
  assert.ok(names.includes('models/gemini-2.5-flash'));
});

test('invalid key is ApiError 400', async () => {
  const bad = new GoogleGenAI({apiKey: 'AIzaSyWrong', httpOptions: {baseUrl: base}});
  await assert.rejects(bad.models.generateContent({model: MODEL, contents: 'hi'}), (e) => e instanceof ApiError && e.status === 400);
});
