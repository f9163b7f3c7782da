// Talking to the dashboard API. Every URL is relative to the page (`api/...`), so the UI works
// under any mount path. Failed calls throw an ApiError carrying the server's `{ error, field }`.

export class ApiError extends Error {
  constructor(message, status, field) {
    super(message);
    this.status = status;
    this.field = field ?? null;
  }
}

async function request(url, init) {
  let res;
  try {
    res = await fetch(url, { credentials: 'same-origin', ...init });
  } catch (err) {
    throw new ApiError(`Network error: ${err.message}`, 0);
  }
  let body = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    throw new ApiError(message, res.status, body?.field);
  }
  return body;
}

export const getJSON = (url) => request(url, { headers: { accept: 'application/json' } });

export const postJSON = (url, body = {}) =>
  request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });

/** Builds `path?a=1&b=2`, leaving out empty values. */
export function withQuery(path, params) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    qs.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export const enc = encodeURIComponent;
