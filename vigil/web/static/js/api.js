// The REST API from the browser: JSON in and out, the CSRF header on unsafe methods, and a
// trip to the login page when the session has ended.

let csrf = null;
let leaving = false; // this page ends its own session and knows where it goes next
const inFlight = new Set(); // AbortControllers of requests not yet answered

/** The page is about to end its own session (logout, new password): an answer of "no
 * session" to a request still in flight must not send it to the login page first. */
export function sessionEnding(on) {
  leaving = on;
  if (on) for (const request of inFlight) request.abort();
}

/** Whether the page is ending its own session now (pictures wait until it did or did not). */
export function sessionIsEnding() {
  return leaving;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function toLogin() {
  if (leaving) return;
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function request(method, url, body, { ending = false } = {}) {
  // While the page ends its own session only the request that ends it goes out: any other
  // would be refused once it has ended (and one already on its way is called off).
  if (leaving && !ending) throw new ApiError(0, "the session is ending");
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    if (csrf === null) csrf = (await request("GET", "/api/me", undefined, { ending })).csrf_token;
    headers["X-CSRF-Token"] = csrf;
  }
  const control = new AbortController();
  inFlight.add(control);
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: ending ? undefined : control.signal,
    });
  } catch (err) {
    if (control.signal.aborted) throw new ApiError(0, "the session is ending");
    throw err;
  } finally {
    inFlight.delete(control);
  }
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, "the session ended; log in again");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail);
  }
  return data;
}

export const get = (url) => request("GET", url);
export const post = (url, body, options) => request("POST", url, body, options);
export const patch = (url, body) => request("PATCH", url, body);
export const del = (url) => request("DELETE", url);

/** What to show for a failed request: the server's own words, or what went wrong on the way. */
export function errorText(err, doing = "failed") {
  return err instanceof ApiError ? err.message : `${doing}: ${err.message}`;
}

/** Who is logged in, with permissions; keeps the CSRF token for later requests. */
export async function me() {
  const data = await request("GET", "/api/me");
  csrf = data.csrf_token;
  return data;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** A file as the raw body of a POST (a clip upload), with the CSRF header; JSON back. */
export async function upload(url, file) {
  if (csrf === null) csrf = (await request("GET", "/api/me")).csrf_token;
  const response = await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": csrf },
    body: file,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, "the session ended; log in again");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && typeof data.detail === "string" ? data.detail : `${response.status} ${response.statusText}`);
  return data;
}
