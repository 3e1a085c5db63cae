// Follows a job's live stream (GET /jobs/{id}/events) over fetch, so the key goes in the Authorization header.
// A dropped connection reconnects with Last-Event-ID (the last event's id), so no point is lost or repeated; after
// FAILURES_BEFORE_POLLING failed connections in a row, onFail() hands the page over to polling. While the browser is
// offline the connection is dropped and nothing is tried; it resumes as soon as the browser is back online.
import { openStream } from "./api.js";

const FAILURES_BEFORE_POLLING = 3;

// One frame ("id: ...\nevent: ...\ndata: ...") as {id, event, data, retry}; comment lines (": keep-alive") are skipped.
function parseFrame(frame) {
  const out = { id: null, event: "message", data: [], retry: null };
  for (const line of frame.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") out.id = value;
    else if (field === "event") out.event = value;
    else if (field === "data") out.data.push(value);
    else if (field === "retry" && /^\d+$/.test(value)) out.retry = Number(value);
  }
  return out;
}

// onEvent(kind, data) for each event; returns stop(). `end` closes the stream for good.
export function follow(path, { onEvent, onFail }) {
  let lastEventId = null;
  let retryMs = 1000;
  let failures = 0;
  let stopped = false;
  let controller = null; // the current connection's

  const online = () => new Promise((resolve) => window.addEventListener("online", resolve, { once: true }));
  const dropOnOffline = () => controller?.abort();
  window.addEventListener("offline", dropOnOffline);

  // One connection: true once `end` came (nothing more will), false when the connection ended before that.
  async function connect() {
    controller = new AbortController();
    const response = await openStream(path, { lastEventId, signal: controller.signal });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (frame.retry !== null) retryMs = frame.retry;
        if (!frame.data.length) continue;
        failures = 0; // the stream works: only failures in a row count
        onEvent(frame.event, JSON.parse(frame.data.join("\n")));
        if (frame.id !== null) lastEventId = frame.id; // after the event is applied: a resume starts past it
        if (frame.event === "end") {
          controller.abort();
          return true;
        }
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        if (await connect()) break;
      } catch (error) {
        if (stopped) break;
        if (!navigator.onLine) {
          await online(); // not the server's fault: no failure counted, and back at once
          continue;
        }
        // A 4xx other than a rate limit will not get better by retrying: let the page show it through polling.
        const hopeless = error.status >= 400 && error.status < 500 && error.status !== 429;
        if (hopeless || ++failures >= FAILURES_BEFORE_POLLING) {
          window.removeEventListener("offline", dropOnOffline);
          onFail(error);
          return;
        }
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
    window.removeEventListener("offline", dropOnOffline);
  })();

  return () => {
    stopped = true;
    controller?.abort();
  };
}
