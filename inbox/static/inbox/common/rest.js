/*
 * The REST client of both surfaces. ``request`` never throws: a network failure is a response
 * with status 0, so that callers decide in one place what to retry.
 */

// Worth another attempt with the same Idempotency-Key: the message may or may not be stored.
const RETRYABLE_STATUSES = new Set([0, 408, 425, 429, 500, 502, 503, 504]);

/** What ``request`` answers when no response arrived. */
export const OFFLINE = Object.freeze({ ok: false, status: 0, data: null, retryAfter: 0 });

export function isRetryable(status) {
  return RETRYABLE_STATUSES.has(status);
}

export function errorMessage(response) {
  return (response && response.data && response.data.message) || "Something went wrong";
}

export class ApiError extends Error {
  constructor(response) {
    super(errorMessage(response));
    this.status = response.status;
    this.body = response.data;
  }
}

export function withQuery(url, params) {
  const query = new URLSearchParams();
  Object.keys(params).forEach((key) => {
    const value = params[key];
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  });
  const text = query.toString();
  return text ? url + "?" + text : url;
}

/** ``{ok, status, data, retryAfter}``: ``data`` is the JSON body (null if none). */
export async function request(url, { method = "GET", body, headers = {} } = {}) {
  const init = {
    method,
    headers: Object.assign({ Accept: "application/json" }, headers),
    credentials: "same-origin",
    cache: "no-store",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    return OFFLINE;
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  return {
    ok: response.ok,
    status: response.status,
    data,
    retryAfter: Number(response.headers.get("Retry-After")) || 0,
  };
}

/** The JSON body of a successful request; anything else throws an ApiError. */
export async function requestJson(url, options) {
  const response = await request(url, options);
  if (!response.ok) throw new ApiError(response);
  return response.data;
}
