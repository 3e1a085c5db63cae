// One dataset: what the server found at upload (columns, classes, image shape) and a preview of its first rows.
import { api, ApiError, datasetPath } from "../api.js";
import { el, number } from "../dom.js";
import { size } from "./datasets.js";

function table(id, headings, rows) {
  return el("div", { class: "scroll" }, el("table", { id },
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", typeof c === "number" ? { class: "num" } : {}, cell(c))))))));
}

// Preview values are numbers, strings, booleans or null (a missing value): each shown as text.
function cell(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return number(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function facts(dataset) {
  const pairs = [["format", dataset.format], ["rows", String(dataset.rows)], ["task", dataset.task],
    ["target", dataset.target ?? "–"], ["inputs", dataset.inputs], ["size", size(dataset.bytes)],
    ["sha256", dataset.sha256], ["id", dataset.id], ["created", new Date(dataset.created_at).toLocaleString()]];
  if (dataset.shape) pairs.splice(5, 0, ["shape", dataset.shape.join(" × ")]);
  return el("dl", { class: "facts", id: "dataset-facts" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k }, v)]));
}

function schema(dataset) {
  const parts = [];
  if (dataset.columns.length) {
    parts.push(el("h2", {}, "Columns"), table("dataset-columns", ["name", "dtype", "nulls", "role", "categories"],
      dataset.columns.map((c) => [c.name, c.dtype, c.nulls, c.role, (c.categories || []).join(", ")])));
  }
  if (dataset.classes.length) {
    parts.push(el("h2", {}, `Classes (${dataset.classes.length})`),
      el("p", { id: "dataset-classes" }, dataset.classes.join(", ")));
  }
  const preview = dataset.preview;
  if (preview.length) {
    const names = Object.keys(preview[0]);
    parts.push(el("h2", {}, `First ${preview.length} rows`),
      table("dataset-preview", names, preview.map((r) => names.map((n) => r[n]))));
  }
  return parts;
}

export function render(root, id) {
  const body = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  root.append(body);
  let stopped = false;

  async function load() {
    try {
      const dataset = await api(datasetPath(id));
      if (stopped) return;
      const problem = el("p", { class: "error", id: "delete-problem", role: "alert" });
      const remove = el("button", { class: "danger", id: "delete-dataset", onclick: async () => {
        if (!confirm(`Delete dataset ${dataset.name}? Jobs that trained on it keep their results.`)) return;
        remove.disabled = true;
        try {
          await api(datasetPath(id), { method: "DELETE" });
          location.hash = "#/datasets";
        } catch (error) {
          remove.disabled = false;
          problem.textContent = `Not deleted: ${error.problem?.detail || error.message}`;
        }
      } }, "Delete");
      body.replaceChildren(
        el("div", { class: "toolbar" }, el("h1", { class: "flush" }, dataset.name),
          el("a", { href: `#/submit?dataset=${encodeURIComponent(dataset.id)}` }, "Train on it"),
          el("a", { href: "#/datasets" }, "All datasets"), remove),
        problem, facts(dataset), ...schema(dataset));
    } catch (error) {
      if (stopped) return;
      const missing = error instanceof ApiError && error.status === 404;
      body.replaceChildren(el("p", { class: "error" }, missing ? `No dataset has id ${id}.` : `Cannot read the dataset: ${error.message}`));
    }
  }

  load();
  return () => {
    stopped = true;
  };
}
