/*
 * The REST client of both surfaces. ``request`` never throws: a network failure is a response
 * with status 0, so that callers decide in one place what to retry.
 */

import { gettext } from "./i18n.js";

// Worth another attempt with the same Idempotency-Key: the message may or may not be stored.
const RETRYABLE_STATUSES = new Set([0, 408, 425, 429, 500, 502, 503, 504]);

/** What ``request`` answers when no response arrived. */
export const OFFLINE = Object.freeze({ ok: false, status: 0, data: null, retryAfter: 0 });

export function isRetryable(status) {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * What to tell a person about a failed request. An application error's message is the
 * server's, in the language the request asked for (Accept-Language); field violations name
 * field paths for developers, so a person gets a sentence of ours instead.
 */
export function errorMessage(response) {
  if (!response || !response.status) return gettext("No connection");
  const data = response.data;
  if (data && data.details && data.details.validationError) return gettext("The request was refused as invalid");
  if (response.status >= 500) return gettext("Something went wrong");
  return (data && data.message) || gettext("Something went wrong");
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
