// The REST API (docs/api.md) as the console uses it. The API key lives in sessionStorage (this
// tab only) and goes in the Authorization header of every request, never in a URL. A 401 signs
// the console out. Server-Sent Events are read with fetch() so the header can be sent
// (EventSource cannot), and parsed here.

const KEY = 'tether.apiKey';
let unauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const getKey = () => sessionStorage.getItem(KEY);
export const setKey = (key) => sessionStorage.setItem(KEY, key);
export const clearKey = () => sessionStorage.removeItem(KEY);
export function onUnauthorized(handler) { unauthorized = handler; }

function headers(extra = {}) {
  return { Authorization: `Bearer ${getKey() || ''}`, ...extra };
}

async function failure(res) {
  if (res.status === 401) {
    unauthorized();
    return new ApiError(401, 'unauthorized', 'API key rejected: sign in again with a valid key.');
  }
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = String(body.error.code);
      message = String(body.error.message);
    }
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

async function send(method, path, body, accept) {
  const init = { method, headers: headers(accept ? { Accept: accept } : {}), cache: 'no-store',
                 credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', `The server did not answer (${e.message}).`);
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function api(method, path, body) {
  const res = await send(method, path, body);
  if (res.status === 204) return null;
  return res.json();
}

export async function apiBlob(path) {
  const res = await send('GET', path);
  return res.blob();
}

export const q = encodeURIComponent;

// Reads GET path as text/event-stream, calling onEvent(type, data) for each event, until the
// server closes the stream (resolves) or signal aborts it.
export async function events(path, onEvent, signal) {
  let res;
  try {
    res = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store',
                              credentials: 'omit', signal });
  } catch (e) {
    if (signal && signal.aborted) return;
    throw new ApiError(0, 'network', `The event stream did not open (${e.message}).`);
  }
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let type = 'message';
  let data = [];
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (signal && signal.aborted) return;
      throw new ApiError(0, 'network', `The event stream broke (${e.message}).`);
    }
    if (chunk.done) return;
    buffer += decoder.decode(chunk.value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      let line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) onEvent(type, data.join('\n'));
        type = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // keepalive comment
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
  }
}

export function base64Bytes(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}
