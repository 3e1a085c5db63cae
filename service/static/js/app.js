// The dashboard's router: #/ jobs, #/jobs/<id> one job, #/compare?jobs=..&metric=.., #/submit?dataset=..,
// #/datasets, #/datasets/<id> one dataset, #/sweeps, #/sweeps/<id> one sweep, #/queue, #/workers.
import { DATASET_ID, JOB_ID, SWEEP_ID, getKey, setKey } from "./api.js";
import { el } from "./dom.js";
import * as compareView from "./views/compare.js";
import * as datasetView from "./views/dataset.js";
import * as datasetsView from "./views/datasets.js";
import * as jobView from "./views/job.js";
import * as jobsView from "./views/jobs.js";
import * as queueView from "./views/queue.js";
import * as submitView from "./views/submit.js";
import * as sweepView from "./views/sweep.js";
import * as sweepsView from "./views/sweeps.js";

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let cleanup = () => {};

// The id in a #/jobs/<id> or #/datasets/<id> link, or null when it is not one (a crafted link must not steer a
// keyed request).
function decodeId(raw, pattern = JOB_ID) {
  try {
    const id = decodeURIComponent(raw);
    return pattern.test(id) ? id : null;
  } catch {
    return null;
  }
}

function route() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const job = path.match(/^\/jobs\/([^/]+)$/);
  if (job) {
    const id = decodeId(job[1]);
    if (id === null) return { name: "jobs", render: (root) => root.append(el("p", { class: "problem" }, "That link does not name a job.")) };
    return { name: "jobs", render: (root) => jobView.render(root, id) };
  }
  const dataset = path.match(/^\/datasets\/([^/]+)$/);
  if (dataset) {
    const id = decodeId(dataset[1], DATASET_ID);
    if (id === null) return { name: "datasets", render: (root) => root.append(el("p", { class: "problem" }, "That link does not name a dataset.")) };
    return { name: "datasets", render: (root) => datasetView.render(root, id) };
  }
  const sweep = path.match(/^\/sweeps\/([^/]+)$/);
  if (sweep) {
    const id = decodeId(sweep[1], SWEEP_ID);
    if (id === null) return { name: "sweeps", render: (root) => root.append(el("p", { class: "problem" }, "That link does not name a sweep.")) };
    return { name: "sweeps", render: (root) => sweepView.render(root, id) };
  }
  if (path === "/queue") return { name: "queue", render: (root) => queueView.renderQueue(root) };
  if (path === "/workers") return { name: "workers", render: (root) => queueView.renderWorkers(root) };
  if (path === "/sweeps") return { name: "sweeps", render: (root) => sweepsView.render(root) };
  if (path === "/datasets") return { name: "datasets", render: (root) => datasetsView.render(root) };
  if (path === "/compare") return { name: "compare", render: (root) => compareView.render(root, params) };
  if (path === "/submit") return { name: "submit", render: (root) => submitView.render(root, params) };
  return { name: "jobs", render: (root) => jobsView.render(root, params) };
}

function show() {
  cleanup();
  const { name, render } = route();
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("active", link.dataset.nav === name);
  view.replaceChildren();
  cleanup = render(view) || (() => {});
}

function showBanner(text) {
  banner.textContent = text;
  banner.hidden = !text;
}

const keyInput = document.getElementById("key-input");
keyInput.value = getKey();
document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setKey(keyInput.value.trim());
  showBanner("");
  show();
});
window.addEventListener("gradyard:unauthorized", () =>
  showBanner("This server needs an API key: paste yours in the box at the top right and press Save."),
);
window.addEventListener("hashchange", show);
show();
