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

// Dataset ids are the server's UUIDs too: the same rule keeps a crafted #/datasets/ link from steering a request.
export const DATASET_ID = JOB_ID;

export function datasetPath(id) {
  if (!DATASET_ID.test(id)) throw new ApiError(404, { detail: `'${id}' is not a dataset id` });
  return `/datasets/${encodeURIComponent(id)}`;
}

// Sweep ids are the server's UUIDs too.
export const SWEEP_ID = JOB_ID;

export function sweepPath(id, rest = "") {
  if (!SWEEP_ID.test(id)) throw new ApiError(404, { detail: `'${id}' is not a sweep id` });
  return `/sweeps/${encodeURIComponent(id)}${rest}`;
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

// A live stream (text/event-stream) through fetch: EventSource cannot send the key. The response, body unread.
export async function openStream(path, { lastEventId, signal }) {
  const extra = { Accept: "text/event-stream" };
  if (lastEventId) extra["Last-Event-ID"] = lastEventId;
  const response = await send(path, { headers: headers(extra), signal, cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return response;
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

// An image fetched with the key, as an object URL for an <img> (the caller revokes it when it is replaced).
export async function imageUrl(path) {
  const response = await send(path, { headers: headers() });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return URL.createObjectURL(await response.blob());
}

// A file upload (POST /datasets, multipart) through XMLHttpRequest: fetch reports no upload progress.
// onProgress(sent, total) follows the body; resolves with the stored dataset, rejects with ApiError.
export function upload(path, form, onProgress) {
  checkPath(path);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [name, value] of Object.entries(headers({ Accept: "application/json" }))) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = { detail: xhr.responseText };
      }
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent("gradyard:unauthorized"));
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data || {}));
    });
    // A refused body (413 mid-stream) can end the connection before an answer is read: say so, not "undefined".
    xhr.addEventListener("error", () => reject(new ApiError(0, { detail: "the upload was cut off (network error)" })));
    xhr.send(form);
  });
}
