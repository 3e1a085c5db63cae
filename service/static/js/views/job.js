// One job: its status and progress, live charts of every metric, its spec and state log, a cancel button.
// Live from the job's event stream; polled only when the stream cannot be had.
import { api, download, jobPath, TERMINAL } from "../api.js";
import { LineChart, PANELS } from "../charts.js";
import { duration, el, number, progressBar, shortId, statusBadge } from "../dom.js";
import { follow } from "../stream.js";

const POLL_MS = 1000;
const JOB_REFRESH_MS = 1000; // while streaming: the job's header (progress, summary) at most this often

// The state log as the API keeps it: every transition, why, and who asked for it.
function stateLog(job) {
  const events = job.events || [];
  return el("ul", { class: "log", id: "state-log" }, events.map((e) => el("li", {},
    el("span", { class: "muted" }, `${new Date(e.at).toLocaleString()}  `),
    statusBadge(e.status),
    e.attempt ? ` attempt ${e.attempt}` : "",
    e.reason ? ` · ${e.reason}` : "",
    e.detail ? ` · ${e.detail}` : "",
    e.actor ? el("span", { class: "muted" }, ` · by ${e.actor}`) : "")));
}

function summary(job) {
  const names = Object.keys(job.metrics);
  if (!names.length) return el("p", { class: "muted" }, "No points yet.");
  return el("table", {},
    el("thead", {}, el("tr", {}, ["metric", "last", "best", "best step"].map((c) => el("th", {}, c)))),
    el("tbody", {}, names.map((name) => {
      const m = job.metrics[name];
      return el("tr", {}, el("td", {}, name), el("td", { class: "num" }, number(m.last)),
        el("td", { class: "num" }, number(m.best)), el("td", { class: "num" }, number(m.best_step)));
    })));
}

function bytes(n) {
  if (!n) return "0 B";
  const units = ["B", "kB", "MB", "GB", "TB"];
  const power = Math.min(units.length - 1, Math.floor(Math.log10(n) / 3));
  return `${(n / 1000 ** power).toPrecision(3)} ${units[power]}`;
}

// The model a succeeded job leaves: its state, the export's check against torch, and buttons to take it out.
function modelPanel(job, onError) {
  const model = job.model;
  if (!model) return el("p", { class: "muted", id: "model-state" }, job.status === "succeeded" ? "No model files." : "A model is exported when the job succeeds.");
  const save = (query, name) => () => download(jobPath(job.id, query), name).catch((e) => onError(`Download failed: ${e.message}`));
  const short = shortId(job.id);
  const lines = [el("p", { id: "model-state" }, statusBadge(model.status), model.detail ? ` ${model.detail}` : "")];
  if (model.status === "ready") {
    const file = (which, format) => model.files.find((f) => f.which === which && f.format === format);
    const onnx = file("final", "onnx");
    const best = file("best", "safetensors");
    lines.push(el("p", { class: "muted", id: "model-check" }, onnx
      ? `ONNX checked against torch: largest difference ${number(onnx.max_abs_diff)}`
      : `No ONNX file: ${model.onnx_unavailable || "it could not be exported"}`));
    const buttons = [
      el("button", { id: "download-weights", onclick: save("/model?format=safetensors", `${short}.safetensors`) }, "Weights (safetensors)"),
      onnx ? el("button", { id: "download-onnx", onclick: save("/model?format=onnx", `${short}.onnx`) }, "ONNX") : "",
      best ? el("button", { id: "download-best", title: `best ${best.metric} ${number(best.value)} at epoch ${best.epoch}`,
        onclick: save("/model?format=safetensors&which=best", `${short}-best.safetensors`) }, "Best weights") : "",
      el("button", { id: "download-bundle", onclick: save("/bundle", `${short}.tar.gz`) }, "Bundle (.tar.gz)"),
    ];
    lines.push(el("div", { class: "toolbar" }, buttons));
  }
  return el("div", {}, lines);
}

export function render(root, id) {
  const series = {}; // name -> {step: [], epoch: [], value: []}, grown by stream events or incremental reads
  const charts = new Map(); // panel title -> LineChart
  let lastStep = 0;
  let stopped = false;
  const head = el("div", { class: "toolbar" });
  const logToggle = el("input", { type: "checkbox", id: "log-scale", onchange: () => charts.forEach((c) => c.setLog(logToggle.checked)) });
  const cancel = el("button", { class: "danger", id: "cancel-job", onclick: onCancel }, "Cancel job");
  const chartGrid = el("div", { class: "charts" });
  const details = el("div", { class: "cols" });
  const problem = el("p", { class: "error" });
  root.append(head, el("div", { class: "toolbar" },
    el("label", {}, logToggle, " log scale"), cancel,
    el("button", { onclick: () => download(jobPath(id, "/plot.png"), `${shortId(id)}.png`) }, "Download PNG"),
    el("button", { onclick: () => download(jobPath(id, "/plot.svg"), `${shortId(id)}.svg`) }, "SVG"),
    el("a", { href: `#/compare?jobs=${encodeURIComponent(id)}` }, "Compare with…"),
    el("a", { href: `#/submit?from=${encodeURIComponent(id)}`, id: "rerun-job" }, "Rerun…")), problem, chartGrid, details);

  async function onCancel() {
    cancel.disabled = true;
    try {
      showJob(await api(jobPath(id, "/cancel"), { method: "POST" }));
    } catch (error) {
      problem.textContent = `Cancel failed: ${error.message}`;
    }
  }

  function showJob(job) {
    head.replaceChildren(el("h1", { style: "margin:0" }, job.name), statusBadge(job.status), progressBar(job),
      el("span", { class: "muted" }, `step ${job.progress.step} · ran ${duration(job)} · ${job.id}`));
    cancel.disabled = TERMINAL.has(job.status) || job.cancel_requested;
    details.replaceChildren(
      el("div", {}, el("h2", {}, "Summary"), summary(job), el("h2", {}, "Model"),
        modelPanel(job, (message) => { problem.textContent = message; }),
        el("p", { class: "muted" }, `Holds ${bytes(job.bytes_held)} of artifacts`,
          job.rerun_of ? [" · a rerun of ", el("a", { href: `#/jobs/${encodeURIComponent(job.rerun_of)}` }, shortId(job.rerun_of))] : ""),
        el("h2", {}, "State log"), stateLog(job),
        job.error ? el("p", { class: "error" }, job.error) : "",
        job.restarts ? el("p", { class: "muted" }, `restarted ${job.restarts} time(s) after losing its worker`) : ""),
      el("div", {}, el("h2", {}, "Spec (as resolved)"), el("pre", { id: "spec" }, JSON.stringify(job.spec, null, 2))));
  }

  function addPoints(metrics) {
    for (const [name, s] of Object.entries(metrics)) {
      const into = (series[name] ??= { step: [], epoch: [], value: [] });
      into.step.push(...s.step);
      into.epoch.push(...s.epoch);
      into.value.push(...s.value);
      lastStep = Math.max(lastStep, s.step[s.step.length - 1] ?? 0);
    }
    redraw();
  }

  // A resumed attempt went back to its checkpoint: its points past that step are gone, newer ones follow.
  function rewind(step) {
    for (const into of Object.values(series)) {
      const keep = into.step.findIndex((s) => s > step);
      if (keep < 0) continue;
      for (const column of [into.step, into.epoch, into.value]) column.length = keep;
    }
    lastStep = Math.min(lastStep, step);
    redraw();
  }

  function redraw() {
    chartGrid.dataset.lastStep = String(lastStep);
    for (const panel of PANELS) {
      const names = panel.names.filter((n) => series[n]);
      if (!names.length) continue;
      if (!charts.has(panel.title)) {
        const box = el("div", { class: "chart", "data-panel": panel.title }, el("h3", {}, panel.title));
        chartGrid.append(box);
        charts.set(panel.title, new LineChart(box, names, { log: logToggle.checked }));
      }
      charts.get(panel.title).setTables(names.map((n) => [series[n].epoch, series[n].value]));
    }
  }

  async function tick() {
    try {
      const job = await api(jobPath(id));
      const { metrics } = await api(jobPath(id, `/metrics?after_step=${lastStep}`));
      if (stopped) return;
      addPoints(metrics);
      showJob(job);
      problem.textContent = "";
      // The job's last points were read after it ended: nothing more comes, but for its model's export.
      if (TERMINAL.has(job.status) && job.model?.status !== "exporting") return;
    } catch (error) {
      problem.textContent = error.status === 404 ? `No job has id ${id}.` : `Cannot read the job: ${error.message}`;
      if (error.status === 404) return;
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  }

  let lastRefresh = 0;
  let refreshTimer = null;
  async function refreshJob() {
    lastRefresh = Date.now();
    try {
      const job = await api(jobPath(id));
      if (!stopped) showJob(job);
      return job;
    } catch (error) {
      problem.textContent = `Cannot read the job: ${error.message}`;
      return null;
    }
  }
  function refreshJobSoon() {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refreshJob();
    }, Math.max(0, lastRefresh + JOB_REFRESH_MS - Date.now()));
  }

  function onEvent(kind, data) {
    if (stopped) return;
    if (kind === "metrics") addPoints(data.metrics);
    else if (kind === "rewind") rewind(data.step);
    if (kind === "end") {
      chartGrid.dataset.stream = "ended";
      timer = setTimeout(tick, 0); // the job's last state, then its model's export until it is done
    } else refreshJobSoon();
  }

  function fallBack() {
    if (stopped) return;
    chartGrid.dataset.stream = "polling";
    stopStream = null;
    timer = setTimeout(tick, 0);
  }

  let timer = null;
  let stopStream = null;
  (async () => {
    const job = await api(jobPath(id)).catch((error) => {
      problem.textContent = error.status === 404 ? `No job has id ${id}.` : `Cannot read the job: ${error.message}`;
      return null;
    });
    if (!job || stopped) return;
    showJob(job);
    chartGrid.dataset.stream = "live";
    stopStream = follow(jobPath(id, "/events"), { onEvent, onFail: fallBack });
  })();
  return () => {
    stopped = true;
    stopStream?.();
    clearTimeout(timer);
    clearTimeout(refreshTimer);
    charts.forEach((chart) => chart.destroy());
  };
}
