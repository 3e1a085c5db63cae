// The jobs table: newest first, refreshed every two seconds in place (a row keeps its element, so a ticked box or
// a hovered link stays put); tick jobs to compare them.
import { api } from "../api.js";
import { bestValidation, duration, el, progressBar, statusBadge } from "../dom.js";

const REFRESH_MS = 2000;
const COLUMNS = ["", "name", "status", "dataset", "model", "loss", "optimizer", "best validation", "progress", "duration", "created"];

function created(iso) {
  const when = new Date(iso);
  return when.toDateString() === new Date().toDateString() ? when.toLocaleTimeString() : when.toLocaleString();
}

function row(job, selected, onToggle) {
  const spec = job.spec;
  return el(
    "tr",
    { "data-job-id": job.id },
    el("td", {}, el("input", { type: "checkbox", checked: selected.has(job.id), onchange: (e) => onToggle(job.id, e.target.checked), "aria-label": `select ${job.name}` })),
    el("td", {}, el("a", { href: `#/jobs/${job.id}` }, job.name)),
    el("td", {}, statusBadge(job.status)),
    el("td", {}, spec.dataset.name),
    el("td", {}, spec.model.name),
    el("td", {}, spec.loss.name),
    el("td", {}, spec.optimizer.name),
    el("td", { class: "num" }, bestValidation(job)),
    el("td", {}, progressBar(job)),
    el("td", { class: "num" }, duration(job)),
    el("td", { class: "muted" }, created(job.created_at)),
  );
}

export function render(root) {
  const selected = new Set();
  const status = el("select", { "aria-label": "status filter", onchange: () => refresh() },
    ["", "queued", "running", "succeeded", "failed", "cancelled"].map((s) => el("option", { value: s }, s || "any status")));
  const compare = el("button", { class: "primary", disabled: true, onclick: () => {
    location.hash = `#/compare?jobs=${[...selected].join(",")}`;
  } }, "Compare selected");
  const tbody = el("tbody", {});
  const message = el("p", { class: "muted" });
  root.append(
    el("h1", {}, "Jobs"),
    el("div", { class: "toolbar" }, status, compare, el("a", { href: "#/submit" }, "Submit a job")),
    el("div", { class: "scroll" },
      el("table", { id: "jobs-table" }, el("thead", {}, el("tr", {}, COLUMNS.map((c) => el("th", {}, c)))), tbody)),
    message,
  );

  function toggle(id, on) {
    if (on) selected.add(id);
    else selected.delete(id);
    compare.disabled = selected.size === 0;
  }

  async function refresh() {
    try {
      const query = new URLSearchParams({ limit: "100" });
      if (status.value) query.set("status", status.value);
      const { items } = await api(`/jobs?${query}`);
      const rows = new Map([...tbody.children].map((tr) => [tr.dataset.jobId, tr]));
      const fresh = items.map((job) => {
        const made = row(job, selected, toggle);
        const kept = rows.get(job.id);
        if (!kept) return made;
        // Only the cells that changed are swapped: a row's checkbox and link are left alone while the job runs.
        [...made.children].forEach((cell, i) => {
          const old = kept.children[i];
          if (i > 0 && old.innerHTML !== cell.innerHTML) old.replaceWith(cell);
        });
        return kept;
      });
      tbody.replaceChildren(...fresh);
      message.textContent = items.length ? "" : "No jobs yet: submit one from the Submit page, the CLI or the API.";
    } catch (error) {
      message.textContent = `Cannot list jobs: ${error.message}`;
    }
  }

  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}
