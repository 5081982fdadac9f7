// The playground: one prompt (and system instruction) to a chosen model, charged to a chosen
// project like any API call, streamed token by token; its usage, its errors (a 429 shown as
// the rate limit it is, with a live retry countdown), and "Get code" for the same request.

import {admin, ApiError} from './api.js';
import {copiedMessage, copy} from './clipboard.js';
import {$, h, openDialog, showError} from './dom.js';
import {duration, num} from './format.js';
import * as store from './projects.js';
import {curlSnippet, pythonSnippet, requestBody} from './snippets.js';
import {sseEvents} from './sse.js';

const MODEL = 'gemd.model';
const DEFAULT_MODEL = 'gemini-2.5-flash';

export function playgroundView() {
  const output = $('pg-output');
  let running = null; // the AbortController of the run in progress
  let retryTimer = null;
  let modelsLoaded = false;

  async function show() {
    try {
      const [projects, models] = await Promise.all([store.projects(true), modelsLoaded ? null : admin.models()]);
      const id = store.fillSelect($('pg-project'), projects);
      if (id) store.select(id);
      if (models) {
        fillModels(models);
        modelsLoaded = true;
      }
    } catch (err) {
      if (err.httpStatus !== 401) showError($('pg-error'), `Could not load the projects and models: ${err.message}`);
    }
  }

  /** The generative models (embedders have no generateContent), the last one used chosen. */
  function fillModels(models) {
    const ids = models.filter((m) => (m.methods ?? []).includes('generateContent'))
      .map((m) => ({id: m.name.replace(/^models\//, ''), label: m.displayName}));
    const wanted = sessionStorage.getItem(MODEL) ?? DEFAULT_MODEL;
    // The id, not the display name: it is what code names the model by.
    $('pg-model').replaceChildren(...ids.map((m) => h('option', {value: m.id, selected: m.id === wanted, title: m.label}, m.id)));
  }

  function settings() {
    return {
      base: location.origin,
      model: $('pg-model').value,
      prompt: $('pg-prompt').value,
      system: $('pg-system').value,
      temperature: Number($('pg-temperature').value),
      maxOutputTokens: Number($('pg-max-tokens').value),
      stream: true,
    };
  }

  /** What is wrong with the form, with the field to focus, or null. */
  function invalid(s) {
    if (!$('pg-project').value) return ['Create a project first, on the API keys page.', 'pg-project'];
    if (!s.model) return ['Choose a model.', 'pg-model'];
    if (!Number.isInteger(s.maxOutputTokens) || s.maxOutputTokens < 1) return ['Max output tokens must be a whole number of at least 1.', 'pg-max-tokens'];
    if (!s.prompt.trim()) return ['Write a prompt first.', 'pg-prompt'];
    return null;
  }

  async function run() {
    const s = settings();
    clearResult();
    const problem = invalid(s);
    if (problem) {
      $('pg-error').replaceChildren(h('p', {}, problem[0]));
      $('pg-error').hidden = false;
      $(problem[1]).focus();
      return;
    }
    sessionStorage.setItem(MODEL, s.model);
    running = new AbortController();
    setRunning(true);
    const started = performance.now();
    let usage = null;
    let finish = null;
    try {
      const response = await admin.stream($('pg-project').value, s.model, requestBody(s), running.signal);
      for await (const event of sseEvents(response)) {
        // An error after the stream started arrives as the stream's last event.
        if (event.error) throw new ApiError(event.error.code, event.error);
        const candidate = event.candidates?.[0];
        const text = (candidate?.content?.parts ?? []).filter((p) => !p.thought && p.text).map((p) => p.text).join('');
        if (text) output.append(text);
        finish = candidate?.finishReason ?? finish;
        usage = event.usageMetadata ?? usage;
      }
      $('pg-usage').textContent = usageText(usage, finish, performance.now() - started);
    } catch (err) {
      if (err.name === 'AbortError') $('pg-usage').textContent = 'Stopped.';
      else if (err.httpStatus !== 401) showRunError(err);
    } finally {
      running = null;
      setRunning(false);
    }
  }

  function setRunning(on) {
    $('pg-run').disabled = on;
    $('pg-stop').disabled = !on;
    output.setAttribute('aria-busy', String(on));
    if (on) $('pg-usage').textContent = 'Generating…';
  }

  function clearResult() {
    clearInterval(retryTimer);
    output.replaceChildren();
    $('pg-error').replaceChildren();
    $('pg-error').hidden = true;
    $('pg-usage').textContent = '';
  }

  function usageText(u, finish, ms) {
    if (!u) return `Done in ${(ms / 1000).toFixed(1)} s.`;
    return [`Input ${num(u.promptTokenCount)} tokens`, `output ${num(u.candidatesTokenCount)} tokens`,
            `total ${num(u.totalTokenCount)}`, finish ? `finish reason ${finish}` : null,
            `${(ms / 1000).toFixed(1)} s`].filter(Boolean).join(' · ');
  }

  // ---- errors: a 429 as the rate limit it is ----

  function showRunError(err) {
    const panel = $('pg-error');
    if (err.httpStatus === 429) {
      const violations = err.detail('QuotaFailure')?.violations ?? [];
      const limits = violations.map(limitName);
      const retry = h('p', {class: 'retry'});
      panel.replaceChildren(
        h('h3', {}, '429 RESOURCE_EXHAUSTED: rate limit reached'),
        h('p', {}, limits.length ? `This project used up its quota for ${violations[0].quotaDimensions?.model ?? 'this model'}: ${limits.join('; ')}.`
                                 : 'This project used up its quota for this model.'),
        retry,
        h('details', {}, h('summary', {}, 'The server’s message'), h('pre', {}, err.message)));
      countdown(retry, err.retryDelaySeconds);
    } else {
      const title = err.httpStatus ? `${err.httpStatus} ${err.status}`.trim() : 'Request failed';
      panel.replaceChildren(h('h3', {}, title), h('p', {}, err.message));
    }
    panel.hidden = false;
  }

  /** "Retry in 41s", counting down, then "You can retry now." */
  function countdown(el, seconds) {
    if (seconds === null || seconds === undefined) return;
    const until = Date.now() + seconds * 1000;
    const update = () => {
      const left = (until - Date.now()) / 1000;
      el.textContent = left > 0 ? `Retry in ${duration(left)} (retry delay ${Math.ceil(seconds)} s).` : 'You can retry now.';
      if (left <= 0) clearInterval(retryTimer);
    };
    update();
    retryTimer = setInterval(update, 1000);
  }

  // ---- get code ----

  function renderCode() {
    const s = {...settings(), stream: $('code-stream').checked};
    $('code-curl').textContent = curlSnippet(s);
    $('code-python').textContent = pythonSnippet(s);
    $('code-copied').textContent = '';
  }

  $('pg-code').addEventListener('click', () => {
    renderCode();
    openDialog($('code-dialog'));
  });
  $('code-stream').addEventListener('change', renderCode);
  for (const button of document.querySelectorAll('#code-dialog [data-copy]')) {
    button.addEventListener('click', async () => {
      const code = $(button.dataset.copy);
      $('code-copied').textContent = copiedMessage(await copy(code.textContent, code));
    });
  }

  // ---- the form ----

  $('pg-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!running) run();
  });
  $('pg-stop').addEventListener('click', () => running?.abort());
  for (const area of [$('pg-prompt'), $('pg-system')]) {
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        $('pg-form').requestSubmit();
      }
    });
  }
  const temperature = () => { $('pg-temperature-value').textContent = Number($('pg-temperature').value).toFixed(2); };
  $('pg-temperature').addEventListener('input', temperature);
  temperature();
  $('pg-project').addEventListener('change', () => store.select($('pg-project').value));

  return {section: $('view-playground'), title: 'Playground', show, hide: () => running?.abort()};
}

/** A QuotaFailure violation in words: "requests per minute (limit 2)". */
function limitName(v) {
  const id = String(v.quotaId ?? '');
  const what = /InputToken/i.test(id) ? 'input tokens' : 'requests';
  const per = /PerDay/i.test(id) ? 'per day' : 'per minute';
  return `${what} ${per}${v.quotaValue ? ` (limit ${num(Number(v.quotaValue))})` : ''}`;
}
