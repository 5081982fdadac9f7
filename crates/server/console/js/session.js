// The sign-in session: the opaque string POST /admin/v1/sessions returned and its expiry.
// It lives in sessionStorage (this tab only, gone when the tab closes) and travels as an
// `Authorization: Bearer` header: never in a URL, never in a cookie, so a page on another
// site cannot make the browser send it (no CSRF).

const KEY = 'gemd.session';

/** The stored session `{session, expireTime}`, or null. An expired one is still returned:
 *  the caller tells the user it expired instead of silently showing the sign-in form. */
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY));
    return s && typeof s.session === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function isExpired(s) {
  const end = Date.parse(s?.expireTime ?? '');
  return Number.isFinite(end) && end <= Date.now();
}

export function saveSession({session, expireTime}) {
  sessionStorage.setItem(KEY, JSON.stringify({session, expireTime}));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
