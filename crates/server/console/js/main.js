// The console's entry point: builds the views, lets only a signed-in tab past the sign-in
// view, and sends the tab back there (saying why) when the session expires or is refused.

import {$} from './dom.js';
import {dashboardView} from './quota.js';
import {keysView} from './keys.js';
import {playgroundView} from './playground.js';
import * as projects from './projects.js';
import {addView, go, render, routeName, setGuard, start} from './router.js';
import {clearSession, isExpired, loadSession} from './session.js';
import {notice, signInView} from './signin.js';

const EXPIRED = 'Your sign-in expired. Sign in again to continue.';
let expiryTimer = null;

/** Is there a usable session? An expired one is dropped, with the reason shown. */
function signedIn() {
  const s = loadSession();
  if (s && isExpired(s)) {
    clearSession();
    notice(EXPIRED);
    chrome(false);
    return false;
  }
  return Boolean(s);
}

function signOut(message) {
  clearSession();
  projects.forget();
  clearTimeout(expiryTimer);
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  notice(message);
  chrome(false);
  render();
}

/** Shows the navigation only to a signed-in tab, and schedules the end of its session. */
function chrome(on) {
  $('nav').hidden = !on;
  $('sign-out').hidden = !on;
  clearTimeout(expiryTimer);
  const end = Date.parse(loadSession()?.expireTime ?? '');
  // Timers longer than ~24.8 days overflow; sessions last hours, so that never applies.
  if (on && Number.isFinite(end)) expiryTimer = setTimeout(() => signOut(EXPIRED), Math.max(0, end - Date.now()));
}

addView('signin', signInView(() => {
  chrome(true);
  // Back to where the user was going before being asked to sign in.
  go(routeName() && routeName() !== 'signin' ? routeName() : 'keys');
}));
addView('keys', keysView());
addView('dashboard', dashboardView());
addView('playground', playgroundView());

setGuard((wanted) => {
  if (!signedIn()) return 'signin';
  return wanted === 'signin' ? 'keys' : null;
});

// Any admin call answered 401: the session is gone (expired, or the server restarted with
// another token). The server's message says which.
addEventListener('gemd:unauthenticated', (e) => {
  const why = /expired/i.test(e.detail ?? '') ? EXPIRED : `You were signed out. ${e.detail || 'The session is not valid.'}`;
  signOut(why);
});

$('sign-out').addEventListener('click', () => signOut(''));

chrome(signedIn());
start();
