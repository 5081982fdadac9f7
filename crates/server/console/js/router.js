// Switches views by the URL fragment (`#/keys`, `#/dashboard`, `#/playground`). Fragments are
// never sent to the server, and only names of views ever go in them: no token, no key. Other
// fragments (the skip link's `#main`) are left to the browser.

const views = new Map();
let current = null;
let guard = () => null;

/** Registers a view: `section` is its element, `show()`/`hide()` start and stop its work. */
export function addView(name, view) {
  views.set(name, view);
}

/** `check(name)` returns the name of the view to show instead (sign-in), or null. */
export function setGuard(check) {
  guard = check;
}

export function routeName() {
  const m = location.hash.match(/^#\/([a-z]+)/);
  return m && views.has(m[1]) ? m[1] : null;
}

export function go(name) {
  if (location.hash !== `#/${name}`) location.hash = `#/${name}`;
  else render();
}

/** Shows the view the fragment names (or the guard's choice) and moves focus to its heading. */
export function render() {
  if (location.hash && !location.hash.startsWith('#/')) return;
  const wanted = routeName() ?? 'keys';
  const name = guard(wanted) ?? wanted;
  if (current && current !== name) views.get(current)?.hide?.();
  for (const [n, v] of views) v.section.hidden = n !== name;
  for (const a of document.querySelectorAll('nav a[data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const changed = current !== name;
  current = name;
  const view = views.get(name);
  if (changed) {
    document.title = `${view.title} · gemd console`;
    // The heading first, so a screen reader announces the new page; show() may move focus on.
    view.section.querySelector('h1')?.focus({preventScroll: true});
  }
  view.show?.();
}

export function start() {
  addEventListener('hashchange', render);
  render();
}
