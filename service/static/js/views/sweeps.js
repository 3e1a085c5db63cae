// The sweeps table: newest first, each with its state, trial counts and best trial, refreshed every two seconds.
import { api } from "../api.js";
import { el, number, shortId } from "../dom.js";

const REFRESH_MS = 2000;
const COLUMNS = ["name", "state", "trials", "objective", "best", "best trial", "search", "created"];

export function sweepBadge(state) {
  return el("span", { class: `status ${state}`, "data-state": state }, state);
}

// "3 of 20: 2 succeeded, 1 running": the counts the API gives, by job status.
export function trialCounts(sweep) {
  const { total = 0, ...byStatus } = sweep.trials;
  const parts = Object.entries(byStatus).map(([status, n]) => `${n} ${status}`);
  return `${total} of ${sweep.spec.max_trials}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

function row(sweep) {
  const { objective, sampler, pruner } = sweep.spec;
  const best = sweep.best;
  return el("tr", { "data-sweep-id": sweep.id },
    el("td", {}, el("a", { href: `#/sweeps/${sweep.id}` }, sweep.name)),
    el("td", {}, sweepBadge(sweep.state)),
    el("td", {}, trialCounts(sweep)),
    el("td", {}, `${objective.metric} (${objective.mode})`),
    el("td", { class: "num" }, best ? number(best.value) : "–"),
    el("td", {}, best ? el("a", { href: `#/jobs/${best.job_id}` }, `#${best.trial} (${shortId(best.job_id)})`) : "–"),
    el("td", { class: "muted" }, `${sampler} · ${pruner}`),
    el("td", { class: "muted" }, new Date(sweep.created_at).toLocaleString()));
}

export function render(root) {
  const tbody = el("tbody", {});
  const message = el("p", { class: "muted" });
  root.append(el("h1", {}, "Sweeps"),
    el("div", { class: "scroll" },
      el("table", { id: "sweeps-table" }, el("thead", {}, el("tr", {}, COLUMNS.map((c) => el("th", {}, c)))), tbody)),
    message);

  async function refresh() {
    try {
      const { items } = await api("/sweeps?limit=100");
      tbody.replaceChildren(...items.map(row));
      message.textContent = items.length ? "" : "No sweeps yet: start one with `gradyard sweep SPEC.yaml`, the client or POST /sweeps.";
    } catch (error) {
      message.textContent = `Cannot list sweeps: ${error.message}`;
    }
  }

  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}
