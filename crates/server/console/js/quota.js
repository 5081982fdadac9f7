// The quota dashboard: for the chosen project, each model's use of its RPM, TPM and RPD
// limits (from the same limiter that enforces them), the recent 429s, a live countdown to the
// Pacific-midnight reset, and the last 24 hours as charts. It polls every two seconds while
// shown (more slowly in a background tab) and updates the table in place, so focus and a
// screen reader's position survive the refresh.

import {admin} from './api.js';
import {barChart} from './chart.js';
import {$, h, showError} from './dom.js';
import {dateTime, duration, hourLabel, num, tierLabel} from './format.js';
import * as store from './projects.js';

const POLL_MS = 2000;
const HIDDEN_POLL_MS = 10000;
const REFUSALS_SHOWN = 10;

export function dashboardView() {
  const select = $('dash-project');
  const error = (message) => showError($('dash-error'), message);
  let active = false;
  let chain = 0; // the current poll loop; an older loop stops when it sees a newer number
  let timer = null;
  let ticker = null;
  let snapshot = null;
  let skew = 0; // the server's clock minus this one (ms): countdowns follow the server

  async function show() {
    hide();
    active = true;
    try {
      const id = store.fillSelect(select, await store.projects(true));
      if (!id) {
        error('No projects yet: create one on the API keys page.');
        return;
      }
      store.select(id);
    } catch (err) {
      if (err.httpStatus !== 401) error(`Could not load the projects: ${err.message}`);
      return;
    }
    ticker = setInterval(tick, 1000);
    restart();
  }

  function hide() {
    active = false;
    chain++;
    clearTimeout(timer);
    clearInterval(ticker);
  }

  function restart() {
    clearTimeout(timer);
    poll(++chain);
  }

  async function poll(me) {
    const id = select.value;
    try {
      // The chart too: a request just made shows in its hour at once, like in the table.
      const [quota, hours] = await Promise.all([admin.quota(id), admin.hourly(id)]);
      if (me !== chain) return;
      snapshot = quota;
      skew = Date.parse(quota.now) - Date.now() || 0;
      renderQuota(quota);
      renderHours(hours);
      tick();
      error('');
      $('dash-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (me !== chain) return;
      if (err.httpStatus === 401) return hide();
      error(`Could not refresh the numbers: ${err.message} Retrying…`);
    }
    timer = setTimeout(() => poll(me), document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }

  // ---- the limits table ----

  function renderQuota(q) {
    $('dash-tier').textContent = q.tier === 'free' ? 'Free tier' : tierLabel(q.tier);
    const body = $('dash-models').tBodies[0];
    const rows = new Map([...body.rows].map((r) => [r.dataset.model, r]));
    const wanted = q.models.map((m) => {
      const row = rows.get(m.model) ?? newRow(m.model);
      const [rpm, tpm, rpd] = [...row.cells].slice(1);
      fillUse(rpm, m.used.requestsThisMinute, m.limits.rpm, 'requests this minute');
      fillUse(tpm, m.used.tokensThisMinute, m.limits.tpm, 'input tokens this minute');
      fillUse(rpd, m.used.requestsToday, m.limits.rpd, 'requests today');
      return row;
    });
    // Re-append only when the set or order changed, so an unchanged table is left alone.
    if (wanted.length !== body.rows.length || wanted.some((r, i) => body.rows[i] !== r)) body.replaceChildren(...wanted);
    renderRefusals(q.recentRefusals ?? []);
  }

  function newRow(model) {
    const use = (label) => h('td', {class: 'use', 'data-label': label}, h('div', {class: 'use-text'}),
                             h('div', {class: 'use-bar', 'aria-hidden': 'true'}, h('span')));
    return h('tr', {'data-model': model}, h('th', {scope: 'row'}, model),
             use('Requests this minute (RPM)'), use('Input tokens this minute (TPM)'), use('Requests today (RPD)'));
  }

  /** One cell: "used / limit" and a bar; null is unlimited, 0 is not offered on the tier. */
  function fillUse(cell, used, limit, what) {
    const unlimited = limit === null || limit === undefined;
    const unavailable = limit === 0;
    const full = !unlimited && !unavailable && used >= limit;
    cell.className = `use${full ? ' full' : ''}${unavailable ? ' unavailable' : ''}`;
    const text = unavailable ? 'Not available on this tier'
      : unlimited ? `${num(used)} · no limit`
      : `${num(used)} / ${num(limit)}`;
    const label = cell.querySelector('.use-text');
    if (label.textContent !== text) label.textContent = text;
    label.title = full ? `Limit reached: ${what}` : '';
    cell.querySelector('.use-bar span').style.width = unlimited || unavailable ? '0' : `${Math.min(100, (used / limit) * 100)}%`;
  }

  // ---- recent 429s ----

  function renderRefusals(refusals) {
    const box = $('dash-refusals');
    if (!refusals.length) {
      box.replaceChildren(h('p', {class: 'muted'}, 'No request of this project was refused recently.'));
      return;
    }
    const newest = [...refusals].sort((a, b) => Date.parse(b.time) - Date.parse(a.time)).slice(0, REFUSALS_SHOWN);
    box.replaceChildren(h('div', {class: 'table-wrap'}, h('table', {class: 'data cards', id: 'dash-refusals-table'},
      h('caption', {class: 'sr-only'}, 'Requests refused with 429 RESOURCE_EXHAUSTED, newest first'),
      h('thead', {}, h('tr', {}, ['When', 'Model', 'Limit reached', 'Retry delay', 'Can retry'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, newest.map((r) => {
        const delay = Number(r.retryDelaySeconds) || 0;
        return h('tr', {},
          h('td', {'data-label': 'When'}, dateTime(r.time)),
          h('td', {'data-label': 'Model'}, r.model),
          h('td', {'data-label': 'Limit reached'}, (r.metrics ?? []).join(', ')),
          h('td', {class: 'num', 'data-label': 'Retry delay'}, `${Math.ceil(delay)} s`),
          h('td', {'data-label': 'Can retry', 'data-until': Date.parse(r.time) + delay * 1000}, ''));
      })))));
  }

  // ---- countdowns, every second between polls ----

  function tick() {
    if (!snapshot) return;
    const now = Date.now() + skew;
    const reset = $('dash-reset');
    reset.textContent = duration((Date.parse(snapshot.dayResetTime) - now) / 1000);
    reset.title = `At ${dateTime(snapshot.dayResetTime)} your time`;
    for (const cell of $('dash-refusals').querySelectorAll('[data-until]')) {
      const left = (Number(cell.dataset.until) - now) / 1000;
      cell.textContent = left > 0 ? `in ${duration(left)}` : 'now';
    }
  }

  // ---- the last 24 hours ----

  function renderHours(hours) {
    barChart($('chart-requests'), hours, [{key: 'requests', label: 'requests', className: 'requests'}], 'Requests per hour');
    barChart($('chart-tokens'), hours, [{key: 'promptTokens', label: 'input tokens', className: 'prompt'},
                                        {key: 'candidateTokens', label: 'output tokens', className: 'output'}], 'Tokens per hour');
    $('dash-hours').tBodies[0].replaceChildren(...hours.map((hr) => h('tr', {},
      h('th', {scope: 'row'}, hourLabel(hr.start)),
      h('td', {class: 'num'}, num(hr.requests)),
      h('td', {class: 'num'}, num(hr.promptTokens)),
      h('td', {class: 'num'}, num(hr.candidateTokens)))));
  }

  select.addEventListener('change', () => {
    store.select(select.value);
    snapshot = null;
    $('dash-models').tBodies[0].replaceChildren();
    if (active) restart();
  });
  // Back in the foreground: fresh numbers now, not at the end of the slow interval.
  document.addEventListener('visibilitychange', () => {
    if (active && !document.hidden) restart();
  });

  return {section: $('view-dashboard'), title: 'Quota dashboard', show, hide};
}
