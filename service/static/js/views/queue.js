// The queue as the dispatcher sees it: each pool's slots and load, the queued jobs in the order they will run with
// why each waits (GET /pools, GET /queue), and the workers (GET /workers, admin keys); refreshed every two seconds.
import { api } from "../api.js";
import { el, number, shortId } from "../dom.js";

const REFRESH_MS = 2000;
const POOL_COLUMNS = ["pool", "slots", "busy", "running", "queued", "workers ever"];
const QUEUE_COLUMNS = ["#", "job", "owner", "pool", "priority", "usage s", "sent", "waiting since", "why it waits"];
const WORKER_COLUMNS = ["worker", "pool", "device", "running job", "state", "last seen"];

function table(id, columns, rows) {
  return el("table", { id }, el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))), el("tbody", {}, rows));
}

function poolRow(pool) {
  return el("tr", { "data-pool": pool.name },
    el("td", {}, pool.name),
    ...[pool.slots, pool.busy, pool.running, pool.queued, pool.workers_registered].map((n) => el("td", { class: "num" }, String(n))));
}

// Another user's job comes without a name: it keeps its place in the order, with no link to a page its viewer cannot open.
function queuedRow(job) {
  const label = job.name === null ? el("span", { class: "muted" }, shortId(job.id)) : el("a", { href: `#/jobs/${job.id}` }, job.name);
  const aged = job.effective_priority !== job.priority ? ` (aged to ${job.effective_priority})` : "";
  return el("tr", { "data-job-id": job.id },
    el("td", { class: "num" }, String(job.position)),
    el("td", {}, label),
    el("td", {}, job.owner ?? "–"),
    el("td", {}, job.pool),
    el("td", {}, `${job.priority}${aged}`),
    el("td", { class: "num" }, number(job.usage_seconds)),
    el("td", {}, job.sent ? "yes" : "no"),
    el("td", { class: "muted" }, new Date(job.queued_at).toLocaleString()),
    el("td", {}, job.reason));
}

function workerRow(worker) {
  const running = worker.running_job_id ? el("a", { href: `#/jobs/${worker.running_job_id}` }, shortId(worker.running_job_id)) : "–";
  return el("tr", { "data-worker-id": worker.id },
    el("td", {}, worker.id),
    el("td", {}, worker.pool),
    el("td", {}, worker.device),
    el("td", {}, running),
    el("td", {}, el("span", { class: `status ${worker.live ? "running" : "cancelled"}` }, worker.live ? "live" : "gone")),
    el("td", { class: "muted" }, new Date(worker.last_seen_at).toLocaleString()));
}

function every(refresh) {
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

export function renderQueue(root) {
  const pools = el("div", { class: "scroll" });
  const queue = el("div", { class: "scroll" });
  const message = el("p", { class: "muted" });
  root.append(el("h1", {}, "Queue"), el("h2", {}, "Pools"), pools, el("h2", {}, "Queued jobs, in run order"), queue, message);
  return every(async () => {
    try {
      const [poolList, queued] = await Promise.all([api("/pools"), api("/queue")]);
      pools.replaceChildren(table("pools-table", POOL_COLUMNS, poolList.items.map(poolRow)));
      queue.replaceChildren(table("queue-table", QUEUE_COLUMNS, queued.items.map(queuedRow)));
      message.textContent = queued.items.length ? "" : "Nothing waits: every job has a worker.";
    } catch (error) {
      message.textContent = `Cannot read the queue: ${error.message}`;
    }
  });
}

export function renderWorkers(root) {
  const workers = el("div", { class: "scroll" });
  const message = el("p", { class: "muted" });
  root.append(el("h1", {}, "Workers"), workers, message);
  return every(async () => {
    try {
      const { items } = await api("/workers");
      workers.replaceChildren(table("workers-table", WORKER_COLUMNS, items.map(workerRow)));
      message.textContent = items.length ? "" : "No worker has joined yet: start one with `gradyard worker --pool NAME`.";
    } catch (error) {
      message.textContent = error.status === 403 ? "Workers are listed for admin keys." : `Cannot list workers: ${error.message}`;
    }
  });
}
