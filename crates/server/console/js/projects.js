// The projects every view shows, fetched once and refreshed after a change, and the project
// the dashboard and playground are looking at (kept for the tab in sessionStorage, so it
// survives a reload).

import {admin} from './api.js';
import {h} from './dom.js';
import {tierLabel} from './format.js';

const SELECTED = 'gemd.project';
let cache = null;

/** The projects, from the server when `fresh` or not fetched yet. */
export async function projects(fresh = false) {
  if (fresh || !cache) cache = await admin.projects();
  return cache;
}

export function forget() {
  cache = null;
}

export function selectedId() {
  return sessionStorage.getItem(SELECTED);
}

export function select(id) {
  sessionStorage.setItem(SELECTED, id);
}

/**
 * Fills a <select> with the projects, keeping the selected one (else the first), and returns
 * the chosen id (null when there is no project).
 */
export function fillSelect(select, list, chosen = selectedId()) {
  const id = list.some((p) => p.id === chosen) ? chosen : list[0]?.id ?? null;
  select.replaceChildren(...list.map((p) => h('option', {value: p.id, selected: p.id === id},
                                               `${p.displayName} (${tierLabel(p.tier)})`)));
  return id;
}
