// The admin API (/admin/v1/) as the console uses it: one fetch wrapper that adds the session,
// turns google.rpc error envelopes into ApiError, and reports a refused session once (as the
// window event `gemd:unauthenticated`) so whichever view is showing returns to sign-in; then
// one function per call of the contract.

import {loadSession} from './session.js';

export class ApiError extends Error {
  /** @param {number} httpStatus @param {object} error the envelope's `error` @param {Headers} [headers] */
  constructor(httpStatus, error, headers) {
    super(error?.message || `HTTP ${httpStatus}`);
    this.httpStatus = httpStatus;
    this.status = error?.status ?? '';
    this.details = Array.isArray(error?.details) ? error.details : [];
    this.retryDelaySeconds = retryDelay(this.details, headers);
  }

  /** The detail of the given `@type` suffix (`RetryInfo`, `QuotaFailure`, `ErrorInfo`). */
  detail(type) {
    return this.details.find((d) => String(d['@type'] ?? '').endsWith(`.${type}`));
  }
}

/** Seconds to wait before retrying, from RetryInfo ("41s") or else the Retry-After header. */
function retryDelay(details, headers) {
  const info = details.find((d) => String(d['@type'] ?? '').endsWith('.RetryInfo'));
  const fromBody = parseFloat(info?.retryDelay ?? '');
  if (Number.isFinite(fromBody)) return fromBody;
  const fromHeader = parseFloat(headers?.get('Retry-After') ?? '');
  return Number.isFinite(fromHeader) ? fromHeader : null;
}

/** The error of a failed response, whatever its body (gemd's envelope, or a proxy's page). */
export async function errorOf(response) {
  let error = null;
  try {
    const body = await response.json();
    error = Array.isArray(body) ? body[0]?.error : body?.error;
  } catch {
    // not JSON: keep the HTTP status alone
  }
  return new ApiError(response.status, error ?? {message: `${response.status} ${response.statusText}`}, response.headers);
}

/**
 * Sends one request and returns the Response when it succeeded (callers that stream read its
 * body themselves). Throws ApiError for an error status or an unreachable server.
 */
export async function send(path, {method = 'GET', body, signal, auth = true} = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) headers.Authorization = `Bearer ${loadSession()?.session ?? ''}`;
  let response;
  try {
    response = await fetch(path, {method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
                                  cache: 'no-store', credentials: 'omit'});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, {status: 'UNAVAILABLE', message: `Cannot reach gemd at ${location.origin}. Is it running?`});
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (auth && response.status === 401) {
    window.dispatchEvent(new CustomEvent('gemd:unauthenticated', {detail: error.message}));
  }
  throw error;
}

async function json(path, options) {
  return (await send(path, options)).json();
}

const post = (path, body, options) => json(path, {...options, method: 'POST', body: body ?? {}});
const enc = encodeURIComponent;
const bareModel = (name) => String(name).replace(/^models\//, '');

export const admin = {
  signIn: (token) => post('/admin/v1/sessions', {token}, {auth: false}),
  projects: async () => (await json('/admin/v1/projects')).projects ?? [],
  createProject: (displayName, tier) => post('/admin/v1/projects', {displayName, tier}),
  updateProject: (id, patch) => json(`/admin/v1/projects/${enc(id)}`, {method: 'PATCH', body: patch}),
  keys: async (projectId) => (await json(`/admin/v1/projects/${enc(projectId)}/keys`)).keys ?? [],
  createKey: (projectId, displayName) => post(`/admin/v1/projects/${enc(projectId)}/keys`, {displayName}),
  revokeKey: (keyId) => post(`/admin/v1/keys/${enc(keyId)}:revoke`),
  models: async () => (await json('/admin/v1/models')).models ?? [],
  quota: (projectId) => json(`/admin/v1/projects/${enc(projectId)}/quota`),
  hourly: async (projectId) => (await json(`/admin/v1/projects/${enc(projectId)}/usage/hourly`)).hours ?? [],
  /** The playground's call: the native request body, answered as native SSE. */
  stream: (projectId, model, request, signal) =>
    send(`/admin/v1/projects/${enc(projectId)}/models/${enc(bareModel(model))}:streamGenerateContent?alt=sse`,
         {method: 'POST', body: request, signal}),
};
