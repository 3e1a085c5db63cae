// One sweep: its state and counts, the best trial, the leaderboard, the best-so-far curve, every trial's objective
// curve overlaid, its parallel coordinates and importance pictures, and a Stop button. Polls every 2 s while running.
import { api, imageUrl, jobPath, sweepPath, TERMINAL } from "../api.js";
import { LineChart } from "../charts.js";
import { el, number, shortId, statusBadge } from "../dom.js";
import { sweepBadge, trialCounts } from "./sweeps.js";

const POLL_MS = 2000;
const MAX_CURVES = 50; // the best 50 trials' curves: each is one metrics read, and a chart of more is unreadable
const CURVE_POINTS = 500;

function value(v) {
  return v === null || v === undefined ? "–" : number(v);
}

function paramText(v) {
  if (typeof v === "number") return number(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

function leaderboard(rows, keys) {
  const head = ["trial", ...keys, "value", "status", "epoch", "job"];
  return el("table", { id: "leaderboard" },
    el("thead", {}, el("tr", {}, head.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows.map((r) => el("tr", { "data-trial": String(r.trial), "data-job-id": r.job_id },
      el("td", { class: "num" }, `#${r.trial}`),
      keys.map((k) => el("td", { class: "params", "data-key": k }, k in r.params ? paramText(r.params[k]) : "–")),
      el("td", { class: "num" }, value(r.value)),
      el("td", {}, statusBadge(r.status), r.reason ? ` ${r.reason}` : ""),
      el("td", { class: "num" }, String(r.epoch)),
      el("td", {}, el("a", { href: `#/jobs/${r.job_id}` }, shortId(r.job_id)))))));
}

// Each complete trial's value by number (dots), and the best of them so far (steps).
function bestSoFar(rows, maximize) {
  const done = rows.filter((r) => r.value !== null && r.reason !== "pruned").sort((a, b) => a.trial - b.trial);
  const xs = done.map((r) => r.trial);
  let best = null;
  const running = done.map((r) => (best = best === null ? r.value : maximize ? Math.max(best, r.value) : Math.min(best, r.value)));
  return [[xs, done.map((r) => r.value)], [xs, running]];
}

export function render(root, id) {
  let stopped = false;
  let timer = null;
  let lastBoard = "";
  let pictures = [];
  const histories = new Map(); // job id -> {epoch, value}; an ended trial's is read once
  const head = el("div", { class: "toolbar" });
  const stop = el("button", { class: "danger", id: "stop-sweep", onclick: onStop }, "Stop sweep");
  const problem = el("p", { class: "error" });
  const best = el("p", { id: "sweep-best" });
  const board = el("div", { class: "scroll" });
  const bestBox = el("div", { class: "chart", id: "best-chart" }, el("h3", {}, "best so far"));
  const curvesBox = el("div", { class: "chart", id: "curves-chart" });
  const parallel = el("img", { id: "parallel-plot", alt: "parallel coordinates of the trials" });
  const importance = el("img", { id: "importance-plot", alt: "each key's importance" });
  root.append(head, el("div", { class: "toolbar" }, stop, el("a", { href: "#/sweeps" }, "All sweeps")), problem, best,
    el("h2", {}, "Leaderboard"), board, el("div", { class: "charts" }, bestBox, curvesBox),
    el("div", { class: "plots" }, parallel, importance));
  let bestChart = null;
  let curves = null;
  let curveIds = "";

  async function onStop() {
    if (!confirm("Stop this sweep? No new trials start, and its running trials are cancelled.")) return;
    stop.disabled = true;
    try {
      showSweep(await api(sweepPath(id, "/stop"), { method: "POST" })); // the poll, live while running, follows the rest
    } catch (error) {
      problem.textContent = `Stop failed: ${error.message}`;
    }
  }

  function showSweep(sweep) {
    const { objective, sampler, pruner } = sweep.spec;
    head.replaceChildren(el("h1", { class: "flush" }, sweep.name), sweepBadge(sweep.state),
      el("span", { id: "sweep-counts" }, trialCounts(sweep)),
      el("span", { class: "muted" }, `${objective.metric} (${objective.mode}) · ${sampler} · ${pruner} · ${sweep.id}`));
    stop.disabled = sweep.state !== "running";
    const top = sweep.best;
    best.replaceChildren(...(top
      ? ["Best: ", el("a", { href: `#/jobs/${top.job_id}`, id: "best-trial" }, `trial #${top.trial}`),
        ` ${objective.metric} ${number(top.value)} with `, el("code", {}, JSON.stringify(top.params))]
      : [el("span", { class: "muted" }, "No trial has completed yet.")]));
  }

  async function readCurves(rows, metric) {
    const chosen = rows.slice(0, MAX_CURVES);
    await Promise.all(chosen.map(async (r) => {
      const known = histories.get(r.job_id);
      if (known?.done) return;
      const h = await api(jobPath(r.job_id, `/metrics?names=${encodeURIComponent(metric)}&max_points=${CURVE_POINTS}`));
      const s = h.metrics[metric] || { epoch: [], value: [] };
      histories.set(r.job_id, { epoch: s.epoch, value: s.value, done: TERMINAL.has(h.status) });
    }));
    const ids = chosen.map((r) => r.job_id).join(",");
    if (ids !== curveIds) {
      curves?.destroy();
      curvesBox.replaceChildren(el("h3", {}, `${metric} of each trial${rows.length > MAX_CURVES ? ` (the best ${MAX_CURVES})` : ""}`));
      curves = new LineChart(curvesBox, chosen.map((r) => `#${r.trial}`), { legend: chosen.length <= 12 });
      curveIds = ids;
    }
    curves.setTables(chosen.map((r) => [histories.get(r.job_id).epoch, histories.get(r.job_id).value]));
  }

  // One picture at a time: drawing is bounded per user on the server, and a busy answer (429) is no failure here.
  async function showPictures() {
    const fresh = [];
    for (const [img, kind, width] of [[parallel, "parallel", 900], [importance, "importance", 600]]) {
      try {
        const url = await imageUrl(sweepPath(id, `/plot.png?kind=${kind}&width=${width}&height=420`));
        if (stopped) return URL.revokeObjectURL(url);
        fresh.push(url);
        img.src = url;
      } catch (error) {
        img.alt = `The ${kind} picture could not be drawn: ${error.message}`;
      }
    }
    pictures.forEach((u) => URL.revokeObjectURL(u));
    pictures = fresh;
  }

  async function tick() {
    let live = true;
    try {
      const sweep = await api(sweepPath(id));
      const { items } = await api(sweepPath(id, "/trials"));
      if (stopped) return;
      showSweep(sweep);
      const keys = Object.keys(sweep.spec.space);
      const metric = sweep.spec.objective.metric;
      const signature = JSON.stringify(items.map((r) => [r.job_id, r.status, r.value, r.epoch]));
      if (signature !== lastBoard) {
        board.replaceChildren(leaderboard(items, keys));
        bestChart ??= new LineChart(bestBox, [metric, "best so far"], { xLabel: "trial", styles: ["points", "steps"], wholeX: true });
        bestChart.setTables(bestSoFar(items, sweep.spec.objective.mode === "max"));
        await showPictures();
        lastBoard = signature;
      }
      await readCurves(items, metric);
      problem.textContent = "";
      live = sweep.state === "running" || items.some((r) => !TERMINAL.has(r.status));
    } catch (error) {
      problem.textContent = error.status === 404 ? `No sweep has id ${id}.` : `Cannot read the sweep: ${error.message}`;
      if (error.status === 404) return;
    }
    if (live && !stopped) timer = setTimeout(tick, POLL_MS);
  }

  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
    bestChart?.destroy();
    curves?.destroy();
    pictures.forEach((u) => URL.revokeObjectURL(u));
  };
}
