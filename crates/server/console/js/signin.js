// The sign-in view: exchanges the admin token for a session. The token is sent once, in a
// POST body, and dropped from the form; only the session is kept (see session.js).

import {admin} from './api.js';
import {$, busy, showError} from './dom.js';
import {saveSession} from './session.js';

/** @param {() => void} onSignedIn called once a session is stored */
export function signInView(onSignedIn) {
  const form = $('signin-form');
  const token = $('signin-token');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError($('signin-error'), '');
    if (!token.value.trim()) {
      showError($('signin-error'), 'Enter the admin token.');
      token.focus();
      return;
    }
    try {
      const session = await busy(form, () => admin.signIn(token.value.trim()));
      saveSession(session);
      token.value = '';
      notice('');
      onSignedIn();
    } catch (err) {
      const message = err.httpStatus === 401 ? 'That admin token is not right. Check it and try again.' : err.message;
      showError($('signin-error'), message);
      token.select();
    }
  });
  return {section: $('view-signin'), title: 'Sign in', show: () => token.focus()};
}

/** The message above the form: why the user is back here (an expired sign-in, say). */
export function notice(message) {
  showError($('signin-notice'), message);
}
