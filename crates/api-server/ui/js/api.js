// The hooks API, as this page's user may call it: relative URLs (so the page works behind any replica or proxy),
// each request signed with the signed-in credentials.

import { ApiError } from './errors.js';
import { authorization } from './hawk.js';
import { credentials } from './session.js';

const PREFIX = '/api/hooks/v1';
const JSON_TYPE = 'application/json';

/** Calls `method path` with an optional JSON `body` and `query`; the JSON answer, or throws an ApiError. */
export async function call(method, path, { body, query } = {}) {
  let url = PREFIX + path;
  const search = new URLSearchParams(Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null));
  if (search.toString()) url += `?${search}`;
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { Accept: JSON_TYPE };
  if (text !== undefined) headers['Content-Type'] = JSON_TYPE;
  const signer = credentials();
  if (signer) headers.Authorization = await authorization(signer, { method, url, contentType: JSON_TYPE, body: text });
  let response;
  try {
    response = await fetch(url, { method, headers, body: text, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new ApiError({ status: 0, code: 'NetworkError', message: `The server could not be reached: ${e.message}` });
  }
  const reply = await response.json().catch(() => null);
  if (!response.ok) throw ApiError.from(response.status, reply);
  return reply;
}

const id = encodeURIComponent;
const hook = (g, h) => `/hooks/${id(g)}/${id(h)}`;

/** null instead of a 404, for what may simply not exist (a webhook). */
async function orNull(promise) {
  try {
    return await promise;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

export const listHookGroups = () => call('GET', '/hooks');
export const listHooks = (g) => call('GET', `/hooks/${id(g)}`);
export const getHook = (g, h) => call('GET', hook(g, h));
export const hookStatus = (g, h) => call('GET', `${hook(g, h)}/status`);
export const createHook = (g, h, definition) => call('PUT', hook(g, h), { body: definition });
export const updateHook = (g, h, definition) => call('POST', hook(g, h), { body: definition });
export const removeHook = (g, h) => call('DELETE', hook(g, h));
export const triggerHook = (g, h, payload) => call('POST', `${hook(g, h)}/trigger`, { body: payload });
export const renderHook = (g, h, payload) => call('POST', `${hook(g, h)}/render`, { body: { payload } });
export const getTriggerToken = (g, h) => call('GET', `${hook(g, h)}/token`);
export const resetTriggerToken = (g, h) => call('POST', `${hook(g, h)}/token`);
export const lastFires = (g, h, query) => call('GET', `${hook(g, h)}/last-fires`, { query });
export const fireLog = (g, h, query) => call('GET', `${hook(g, h)}/fire-log`, { query });
export const schedule = (g, h, count) => call('GET', `${hook(g, h)}/schedule`, { query: { count } });
export const pauseHook = (g, h, reason) => call('POST', `${hook(g, h)}/pause`, { body: { reason } });
export const resumeHook = (g, h) => call('POST', `${hook(g, h)}/resume`, { body: {} });
export const getWebhook = (g, h) => orNull(call('GET', `${hook(g, h)}/webhook`));
export const putWebhook = (g, h, webhook) => call('PUT', `${hook(g, h)}/webhook`, { body: webhook });
export const webhookSecret = (g, h) => call('GET', `${hook(g, h)}/webhook/secret`);
export const deleteWebhook = (g, h) => call('DELETE', `${hook(g, h)}/webhook`);
