// The API keys view, AI Studio's "Get API key": every project with its tier and keys; create
// a project, create a key (its secret shown once, in the secret dialog), revoke a key after
// confirmation, change a project's tier.

import {admin} from './api.js';
import {copiedMessage, copy} from './clipboard.js';
import {$, busy, confirmDialog, h, openDialog, showError, toast} from './dom.js';
import {TIERS, dateTime, tierLabel} from './format.js';
import * as store from './projects.js';

/** The create-key dialog's "new project" choice. */
const NEW_PROJECT = '__new__';

export function keysView() {
  const list = $('keys-projects');
  const error = (message) => showError($('keys-error'), message);

  async function load() {
    list.setAttribute('aria-busy', 'true');
    try {
      const projects = await store.projects(true);
      const keys = await Promise.all(projects.map((p) => admin.keys(p.id)));
      error('');
      list.replaceChildren(...projects.map((p, i) => projectCard(p, keys[i])));
      if (!projects.length) list.replaceChildren(h('p', {class: 'muted'}, 'No projects yet: create one to get a key.'));
    } catch (err) {
      if (err.httpStatus !== 401) error(`Could not load the projects: ${err.message}`);
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }

  function projectCard(project, keys) {
    const titleId = `project-${project.id}`;
    const tier = h('select', {id: `tier-${project.id}`, onchange: (e) => changeTier(project, e.target)},
                   TIERS.map((t) => h('option', {value: t.id, selected: t.id === project.tier}, t.label)));
    return h('section', {class: 'card project', 'aria-labelledby': titleId, 'data-project': project.id},
      h('div', {class: 'project-head'},
        h('div', {},
          h('h2', {id: titleId}, project.displayName),
          h('p', {class: 'muted'}, h('code', {}, project.id), ` · created ${dateTime(project.createTime)}`)),
        h('div', {class: 'actions'},
          h('div', {}, h('label', {for: tier.id}, 'Tier'), tier),
          h('button', {type: 'button', onclick: () => openCreateKey(project.id),
                       'aria-label': `Create key in ${project.displayName}`}, 'Create key'))),
      keysTable(project, keys));
  }

  function keysTable(project, keys) {
    if (!keys.length) return h('p', {class: 'muted'}, 'No keys in this project yet.');
    const rows = keys.map((k) => {
      const name = k.displayName || 'Unnamed key';
      return h('tr', {'data-key': k.id},
        h('td', {'data-label': 'Name'}, name),
        h('td', {'data-label': 'Key'}, h('span', {class: 'key-prefix', title: 'The first characters of the key'}, `${k.prefix}…`)),
        h('td', {'data-label': 'Created'}, dateTime(k.createTime)),
        h('td', {'data-label': 'Last used'}, dateTime(k.lastUseTime)),
        h('td', {'data-label': 'Status'}, k.revoked
          ? h('span', {class: 'badge revoked', title: `Revoked ${dateTime(k.revokeTime)}`}, 'Revoked')
          : h('span', {class: 'badge active'}, 'Active')),
        h('td', {}, k.revoked ? '' : h('button', {type: 'button', class: 'small', 'aria-label': `Revoke key ${name}`,
                                                  onclick: () => revoke(project, k, name)}, 'Revoke')));
    });
    return h('div', {class: 'table-wrap'},
      h('table', {class: 'data cards'},
        h('caption', {class: 'sr-only'}, `Keys of ${project.displayName}`),
        h('thead', {}, h('tr', {}, ['Name', 'Key', 'Created', 'Last used', 'Status'].map((c) => h('th', {scope: 'col'}, c)),
                         h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
        h('tbody', {}, rows)));
  }

  async function changeTier(project, select) {
    const before = project.tier;
    try {
      const updated = await admin.updateProject(project.id, {tier: select.value});
      project.tier = updated.tier;
      store.forget();
      error('');
      toast(`${project.displayName} is now on ${tierLabel(updated.tier)}.`);
    } catch (err) {
      select.value = before;
      if (err.httpStatus !== 401) error(`Could not change the tier of ${project.displayName}: ${err.message}`);
    }
  }

  async function revoke(project, key, name) {
    const yes = await confirmDialog({
      title: 'Revoke this API key?',
      body: `“${name}” (${key.prefix}…) of ${project.displayName} stops working at once, for every app that uses it. This cannot be undone.`,
      confirmLabel: 'Revoke key',
    });
    if (!yes) return;
    try {
      await admin.revokeKey(key.id);
      toast(`Key “${name}” revoked.`);
      await load();
      $('keys-title').focus();
    } catch (err) {
      if (err.httpStatus !== 401) error(`Could not revoke the key: ${err.message}`);
    }
  }

  // ---- create API key (in an existing project or a new one) ----

  async function openCreateKey(projectId) {
    let projects = [];
    try {
      projects = await store.projects();
    } catch (err) {
      if (err.httpStatus !== 401) error(`Could not load the projects: ${err.message}`);
      return;
    }
    const select = $('key-project');
    select.replaceChildren(
      ...projects.map((p) => h('option', {value: p.id, selected: p.id === projectId}, `${p.displayName} (${p.id})`)),
      h('option', {value: NEW_PROJECT, selected: !projects.length}, 'Create API key in a new project…'));
    $('key-name').value = '';
    $('key-new-project-name').value = '';
    showError($('key-error'), '');
    toggleNewProject();
    openDialog($('key-dialog'));
  }

  function toggleNewProject() {
    $('key-new-project').hidden = $('key-project').value !== NEW_PROJECT;
  }

  $('key-project').addEventListener('change', toggleNewProject);

  $('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const select = $('key-project');
    const newName = $('key-new-project-name').value.trim();
    if (select.value === NEW_PROJECT && !newName) {
      showError($('key-error'), 'Give the new project a name.');
      $('key-new-project-name').focus();
      return;
    }
    try {
      const created = await busy(e.currentTarget, async () => {
        if (select.value === NEW_PROJECT) {
          const p = await admin.createProject(newName, 'free');
          store.forget();
          // Chosen from now on, so retrying after a failed key creation makes no second project.
          select.prepend(h('option', {value: p.id}, `${p.displayName} (${p.id})`));
          select.value = p.id;
          toggleNewProject();
        }
        return admin.createKey(select.value, $('key-name').value.trim() || 'API key');
      });
      $('key-dialog').close('created');
      showSecret(created.secret);
      load();
    } catch (err) {
      if (err.httpStatus !== 401) showError($('key-error'), err.message);
    }
  });

  // ---- the secret, once ----

  function showSecret(secret) {
    const input = $('secret-value');
    input.value = secret;
    $('secret-copied').textContent = '';
    openDialog($('secret-dialog'), $('keys-create-key'));
    input.focus();
    input.select();
  }

  $('secret-copy').addEventListener('click', async () => {
    $('secret-copied').textContent = copiedMessage(await copy($('secret-value').value, $('secret-value')));
  });
  $('secret-done').addEventListener('click', () => $('secret-dialog').close());
  // Once closed, the secret leaves the page: it cannot be shown again, as the dialog says.
  $('secret-dialog').addEventListener('close', () => { $('secret-value').value = ''; });

  // ---- create project ----

  $('project-tier').replaceChildren(...TIERS.map((t) => h('option', {value: t.id}, t.label)));

  $('keys-create-project').addEventListener('click', () => {
    $('project-name').value = '';
    $('project-tier').value = 'free';
    showError($('project-error'), '');
    openDialog($('project-dialog'));
  });

  $('project-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('project-name').value.trim();
    if (!name) {
      showError($('project-error'), 'Give the project a name.');
      $('project-name').focus();
      return;
    }
    try {
      const p = await busy(e.currentTarget, () => admin.createProject(name, $('project-tier').value));
      store.forget();
      $('project-dialog').close('created');
      toast(`Project ${p.displayName} created.`);
      await load();
    } catch (err) {
      if (err.httpStatus !== 401) showError($('project-error'), err.message);
    }
  });

  $('keys-create-key').addEventListener('click', () => openCreateKey(store.selectedId()));

  return {section: $('view-keys'), title: 'API keys', show: load};
}
