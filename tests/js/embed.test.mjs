// @google/genai `models.embedContent` against a spawned gemd (all-MiniLM-L6-v2, 384 dimensions).
// The SDK sends even one text to :batchEmbedContents (capture genai-js__embed-count); vectors are
// checked against the sentence-transformers reference in tests/fixtures/embeddings.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {GoogleGenAI, ApiError} from '@google/genai';
import {gemdForFile, recorder, capture, minilmReference, norm, cosine, KEY, MODEL, EMBEDDING_MODEL, DIM} from './gemd.mjs';

const gemd = gemdForFile();
const reference = minilmReference().cases;
const vectorOf = Object.fromEntries(reference.map((c) => [c.text, c.vector]));

// @google/genai calls the global fetch: record what it sends (this file runs in its own process).
const rec = recorder(globalThis.fetch);
globalThis.fetch = rec.fetch;
const since = () => {
  const start = rec.calls.length;
  return () => rec.calls.slice(start);
};

const ai = () => new GoogleGenAI({apiKey: KEY, httpOptions: {baseUrl: gemd.base}});

function assertSentAsCaptured(sent, captured) {
  assert.equal(sent.method, captured.method);
  assert.equal(sent.path, captured.path);
  assert.equal(sent.headers['x-goog-api-key'], KEY);
  assert.deepEqual(sent.body, captured.body);
}

const isUnit = (v) => Math.abs(norm(v) - 1) < 1e-4;

test('genai-js__embed-count: one text goes to :batchEmbedContents; countTokens', async () => {
  const [embedReq, countReq] = capture('genai-js__embed-count').requests;
  const sent = since();
  const r = await ai().models.embedContent({model: EMBEDDING_MODEL, contents: 'hello'});
  const c = await ai().models.countTokens({model: MODEL, contents: 'hello'});
  const [embedSent, countSent] = sent();
  assertSentAsCaptured(embedSent, embedReq);
  assertSentAsCaptured(countSent, countReq);
  assert.equal(r.embeddings.length, 1);
  const v = r.embeddings[0].values;
  assert.equal(v.length, DIM);
  assert.ok(isUnit(v), norm(v));
  assert.ok(cosine(v, vectorOf.hello) >= 0.999);
  assert.ok(c.totalTokens > 0);
});

test('countTokens on an embedding id counts the embedder\'s word pieces', async () => {
  const hello = reference.find((c) => c.text === 'hello');
  const c = await ai().models.countTokens({model: EMBEDDING_MODEL, contents: hello.text});
  assert.equal(c.totalTokens, hello.tokens_untruncated);
});

test('several contents: one :batchEmbedContents request, vectors in order, as sentence-transformers computes them', async () => {
  const texts = reference.map((c) => c.text).filter((t) => t.length > 0);
  const sent = since();
  const r = await ai().models.embedContent({model: EMBEDDING_MODEL, contents: texts});
  const calls = sent();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].path, `/v1beta/models/${EMBEDDING_MODEL}:batchEmbedContents`);
  assert.equal(calls[0].body.requests.length, texts.length);
  assert.ok(calls[0].body.requests.every((q) => q.model === `models/${EMBEDDING_MODEL}`));
  assert.equal(r.embeddings.length, texts.length);
  texts.forEach((text, i) => {
    const v = r.embeddings[i].values;
    assert.equal(v.length, DIM);
    assert.ok(isUnit(v));
    assert.ok(cosine(v, vectorOf[text]) >= 0.999, `embedding ${i} (${JSON.stringify(text.slice(0, 30))}) matches the reference`);
  });
});

test('outputDimensionality truncates and renormalises; taskType accepted; similar texts stay closer', async () => {
  const texts = ['A man is playing a guitar.', 'Someone plays an acoustic guitar.', 'The stock market fell sharply today.'];
  const sent = since();
  const r = await ai().models.embedContent({
    model: 'text-embedding-004', contents: texts, config: {taskType: 'SEMANTIC_SIMILARITY', outputDimensionality: 256},
  });
  const [call] = sent();
  assert.ok(call.body.requests.every((q) => q.outputDimensionality === 256 && q.taskType === 'SEMANTIC_SIMILARITY'), JSON.stringify(call.body));
  const v = r.embeddings.map((e) => e.values);
  assert.deepEqual(v.map((x) => x.length), [256, 256, 256]);
  assert.ok(v.every(isUnit));
  assert.ok(cosine(v[0], v[1]) > cosine(v[0], v[2]) + 0.3);

  const full = (await ai().models.embedContent({model: EMBEDDING_MODEL, contents: 'hello'})).embeddings[0].values;
  const cut = (await ai().models.embedContent({model: EMBEDDING_MODEL, contents: 'hello', config: {outputDimensionality: 8}})).embeddings[0].values;
  assert.equal(cut.length, 8);
  assert.ok(isUnit(cut));
  const n = norm(full.slice(0, 8));
  assert.ok(cut.every((x, i) => Math.abs(x - full[i] / n) < 1e-5), 'the first 8 components, renormalised');
});

test('a title with RETRIEVAL_DOCUMENT changes the vector; with another task type it is ignored', async () => {
  const embed = async (config) => (await ai().models.embedContent({model: EMBEDDING_MODEL, contents: 'hello', config})).embeddings[0].values;
  const plain = await embed({});
  const titled = await embed({taskType: 'RETRIEVAL_DOCUMENT', title: 'Greetings'});
  const query = await embed({taskType: 'RETRIEVAL_QUERY', title: 'Greetings'});
  assert.ok(cosine(plain, titled) < 0.999);
  assert.ok(cosine(plain, query) > 0.99999);
});

test('outputDimensionality above 384 is an ApiError 400 naming output_dimensionality', async () => {
  await assert.rejects(
    ai().models.embedContent({model: EMBEDDING_MODEL, contents: 'hello', config: {outputDimensionality: DIM + 1}}),
    (e) => e instanceof ApiError && e.status === 400 && /output_dimensionality/.test(e.message) && /INVALID_ARGUMENT/.test(e.message),
  );
  await assert.rejects(
    ai().models.embedContent({model: EMBEDDING_MODEL, contents: ['a', 'b'], config: {outputDimensionality: 768}}),
    (e) => e instanceof ApiError && e.status === 400 && /requests\[0\]\.output_dimensionality/.test(e.message),
  );
  await assert.rejects(
    ai().models.embedContent({model: EMBEDDING_MODEL, contents: 'hello', config: {outputDimensionality: -1}}),
    (e) => e instanceof ApiError && e.status === 400,
  );
});

test('a generative id does not embed: ApiError 404', async () => {
  await assert.rejects(ai().models.embedContent({model: MODEL, contents: 'hello'}),
    (e) => e instanceof ApiError && e.status === 404 && /not supported for batchEmbedContents/.test(e.message));
});

test('models.get on an embedding id', async () => {
  const m = await ai().models.get({model: EMBEDDING_MODEL});
  assert.equal(m.name, `models/${EMBEDDING_MODEL}`);
  assert.ok(m.supportedActions.includes('embedContent'), JSON.stringify(m.supportedActions));
  assert.equal(m.inputTokenLimit, 256);
});

test('an invalid key is ApiError 400', async () => {
  const bad = new GoogleGenAI({apiKey: 'AIzaSyWrong', httpOptions: {baseUrl: gemd.base}});
  await assert.rejects(bad.models.embedContent({model: EMBEDDING_MODEL, contents: 'hello'}),
    (e) => e instanceof ApiError && e.status === 400 && /API_KEY_INVALID/.test(e.message));
});
