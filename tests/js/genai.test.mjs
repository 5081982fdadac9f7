// @google/genai (Node) against a spawned gemd: base URL and key are the only changes.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {GoogleGenAI, ApiError} from '@google/genai';
import {gemdForFile, KEY, MODEL} from './gemd.mjs';

const gemd = gemdForFile();

const ai = () => new GoogleGenAI({apiKey: KEY, httpOptions: {baseUrl: gemd.base}});

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
  const bad = new GoogleGenAI({apiKey: 'AIzaSyWrong', httpOptions: {baseUrl: gemd.base}});
  await assert.rejects(bad.models.generateContent({model: MODEL, contents: 'hi'}), (e) => e instanceof ApiError && e.status === 400);
});
