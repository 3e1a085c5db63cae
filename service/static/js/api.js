// Every request the dashboard makes: the same API and keys as any client (Authorization: Bearer <key>).
const KEY_STORAGE = "gradyard.key";

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export function getKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra = {}) {
  const key = getKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// Job ids are the server's UUIDs: anything else a link carries ("..", "%2F", "?") never becomes part of a path.
export const JOB_ID = /^[0-9A-Za-z-]{1,64}$/;

export function jobPath(id, rest = "") {
  if (!JOB_ID.test(id)) throw new ApiError(404, { detail: `'${id}' is not a job id` });
  return `/jobs/${encodeURIComponent(id)}${rest}`;
}

// The last line of defence: a request with the user's key goes only to an API path, never one that climbs.
function checkPath(path) {
  const route = path.split("?")[0];
  if (!route.startsWith("/") || route.startsWith("//") || /(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i.test(route)) {
    throw new ApiError(400, { detail: `refusing to send the key to ${route}` });
  }
}

async function send(path, init) {
  checkPath(path);
  const response = await fetch(path, init);
  if (response.status === 401) window.dispatchEvent(new CustomEvent("gradyard:unauthorized"));
  return response;
}

// JSON in, JSON out; a non-2xx answer throws ApiError carrying the problem+json body.
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: headers({ Accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await send(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, data || {});
  return data;
}

// Images go through fetch too: a plain <a href> could not send the key.
export async function download(path, filename) {
  const response = await send(path, { headers: headers() });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
