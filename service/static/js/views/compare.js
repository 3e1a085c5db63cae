// One metric of several jobs on one chart: the "SGD vs Adam on the same model" picture.
import { api, download, JOB_ID, jobPath, TERMINAL } from "../api.js";
import { LineChart } from "../charts.js";
import { el, shortId, statusBadge } from "../dom.js";

const POLL_MS = 2000;
const MAX_JOBS = 12;

export function render(root, params) {
  const selected = new Set((params.get("jobs") || "").split(",").filter((id) => JOB_ID.test(id)));
  let metric = params.get("metric") || "";
  let jobs = [];
  let chart = null;
  let timer = null;
  let stopped = false;
  let drawn = 0; // each redraw's number: a slower, older one must not draw over a newer one
  const picker = el("div", { class: "picklist", id: "compare-jobs" });
  const metricSelect = el("select", { id: "compare-metric", onchange: () => { metric = metricSelect.value; redraw(); } });
  const logToggle = el("input", { type: "checkbox", id: "log-scale", onchange: () => chart?.setLog(logToggle.checked) });
  const chartBox = el("div", { class: "chart", id: "compare-chart" });
  const message = el("p", { class: "muted" });
  root.append(
    el("h1", {}, "Compare"),
    el("div", { class: "toolbar" }, el("label", {}, "metric ", metricSelect), el("label", {}, logToggle, " log scale"),
      el("button", { onclick: () => download(plotPath(), `compare-${metric}.png`) }, "Download PNG")),
    el("div", { class: "compare" }, picker, el("div", {}, chartBox, message)),
  );

  function plotPath() {
    return `/compare/plot.png?jobs=${[...selected].join(",")}&metric=${encodeURIComponent(metric)}`;
  }

  function chosenJobs() {
    return jobs.filter((job) => selected.has(job.id));
  }

  function fillPicker() {
    picker.replaceChildren(...jobs.map((job) => el("label", {},
      el("input", { type: "checkbox", value: job.id, checked: selected.has(job.id), onchange: (e) => toggle(job.id, e.target.checked) }),
      el("span", {}, job.name, el("br"), el("small", {}, `${job.spec.optimizer.name} · ${job.spec.dataset.name} · ${shortId(job.id)} `), statusBadge(job.status)))));
  }

  function fillMetrics() {
    const names = [...new Set(chosenJobs().flatMap((job) => Object.keys(job.metrics)))].sort();
    if (!names.includes(metric)) metric = names.includes("val_loss") ? "val_loss" : names[0] || "";
    metricSelect.replaceChildren(...names.map((n) => el("option", { value: n, selected: n === metric }, n)));
  }

  function toggle(id, on) {
    if (on && selected.size >= MAX_JOBS) {
      message.textContent = `At most ${MAX_JOBS} jobs on one chart.`;
      fillPicker();
      return;
    }
    if (on) selected.add(id);
    else selected.delete(id);
    redraw();
  }

  // The chart is built again only when what it shows changes (the jobs, the metric; the scale switches in place);
  // new points of the same jobs go into it in place, so a running job's curve grows without the chart blinking.
  let built = "";
  async function redraw() {
    const generation = ++drawn;
    fillMetrics();
    history.replaceState(null, "", `#/compare?jobs=${[...selected].join(",")}&metric=${encodeURIComponent(metric)}`);
    const chosen = chosenJobs();
    const shown = JSON.stringify([chosen.map((job) => job.id), metric]);
    if (shown !== built || !chart) {
      chart?.destroy();
      chart = null;
      built = "";
      chartBox.replaceChildren();
      if (!chosen.length || !metric) {
        message.textContent = "Tick two or more jobs on the left to draw them on one chart.";
        return;
      }
      message.textContent = "";
      chartBox.append(el("h3", {}, metric));
      const labels = chosen.map((job) => `${job.name} (${shortId(job.id)})`);
      chart = new LineChart(chartBox, labels, { log: logToggle.checked });
      built = shown;
    }
    const histories = await Promise.all(chosen.map((job) =>
      api(jobPath(job.id, `/metrics?names=${encodeURIComponent(metric)}&max_points=2000`))));
    const tables = histories.map((h) => [h.metrics[metric]?.epoch || [], h.metrics[metric]?.value || []]);
    if (generation === drawn && chart) chart.setTables(tables);
  }

  async function refresh() {
    try {
      const listed = (await api("/jobs?limit=100")).items;
      const missing = [...selected].filter((id) => !listed.some((job) => job.id === id));
      const extra = await Promise.all(missing.map((id) => api(jobPath(id)).catch(() => null)));
      const before = JSON.stringify(chosenJobs().map((j) => [j.id, j.status, j.progress.step]));
      jobs = [...extra.filter(Boolean), ...listed];
      fillPicker();
      if (JSON.stringify(chosenJobs().map((j) => [j.id, j.status, j.progress.step])) !== before) await redraw();
    } catch (error) {
      message.textContent = `Cannot read jobs: ${error.message}`;
    }
    const live = chosenJobs().some((job) => !TERMINAL.has(job.status));
    if (!stopped) timer = setTimeout(refresh, live ? POLL_MS : POLL_MS * 3);
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    chart?.destroy();
  };
}
