// Small DOM helpers the views share: building elements (text only through textContent, so
// nothing from the server is ever parsed as HTML), showing errors, the toast, and dialogs.

export const $ = (id) => document.getElementById(id);

/**
 * h('td', {class: 'num', title: 'x'}, 'text', childNode): an element with attributes and
 * children; strings become text nodes. `on<event>` attributes become listeners; a false or
 * null attribute is left out.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Shows `message` in an alert element, or hides it when message is empty. */
export function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

/** A short message at the bottom of the screen, announced politely to screen readers. */
export function toast(message) {
  const el = $('toast');
  el.textContent = message;
  el.classList.add('shown');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('shown'), 3500);
}

/**
 * Opens a modal <dialog>; its [data-close] buttons close it. Focus then returns to
 * `returnTo` (by default the element that had it), so keyboard users keep their place.
 */
export function openDialog(dialog, returnTo = document.activeElement) {
  for (const b of dialog.querySelectorAll('[data-close]')) b.onclick = () => dialog.close('cancel');
  dialog.addEventListener('close', () => returnTo?.focus?.(), {once: true});
  dialog.showModal();
}

/** Asks a yes/no question in the confirm dialog; resolves true only on the confirm button. */
export function confirmDialog({title, body, confirmLabel}) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-body').textContent = body;
  $('confirm-ok').textContent = confirmLabel;
  return new Promise((resolve) => {
    $('confirm-ok').onclick = () => dialog.close('ok');
    $('confirm-cancel').onclick = () => dialog.close('cancel');
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), {once: true});
    dialog.returnValue = '';
    openDialog(dialog);
    // The safe choice has the focus, so Enter does not revoke by accident.
    $('confirm-cancel').focus();
  });
}

/** Disables a form's buttons while `work` runs, so a double click cannot create twice. */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  try {
    return await work();
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
