// The user's datasets: a table of what was uploaded, and a form that uploads a file with a progress bar.
import { api, upload } from "../api.js";
import { el } from "../dom.js";

const COLUMNS = ["name", "format", "rows", "task", "target", "size", "created"];

export function size(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function created(iso) {
  return new Date(iso).toLocaleString();
}

function row(dataset) {
  return el("tr", { "data-dataset-id": dataset.id },
    el("td", {}, el("a", { href: `#/datasets/${encodeURIComponent(dataset.id)}` }, dataset.name)),
    el("td", {}, dataset.format),
    el("td", { class: "num" }, String(dataset.rows)),
    el("td", {}, dataset.task),
    el("td", {}, dataset.target ?? "–"),
    el("td", { class: "num" }, size(dataset.bytes)),
    el("td", { class: "muted" }, created(dataset.created_at)));
}

// The upload form: file, optional name, target and task; the bar follows the bytes sent, then the server parses.
function uploadForm(onUploaded) {
  const file = el("input", { type: "file", id: "upload-file", name: "file", required: true });
  const name = el("input", { type: "text", id: "upload-name", placeholder: "the file's name" });
  const target = el("input", { type: "text", id: "upload-target", placeholder: "the last column" });
  const task = el("select", { id: "upload-task" }, el("option", { value: "" }, "found from the target"),
    ["binary_classification", "multiclass_classification", "multilabel_classification", "regression", "count_regression"]
      .map((t) => el("option", { value: t }, t)));
  const fill = el("span", { style: "width:0%" });
  const bar = el("span", { class: "bar wide", id: "upload-progress", "data-percent": "0" }, fill);
  const state = el("span", { class: "muted", id: "upload-state" });
  const problem = el("div", { class: "error", id: "upload-problem", role: "alert" });
  const button = el("button", { type: "submit", class: "primary", id: "upload-submit" }, "Upload");
  const labelled = (label, control) => el("div", { class: "field" }, el("label", { for: control.id }, label), control);

  function progress(sent, total) {
    const percent = total ? Math.round((100 * sent) / total) : 0;
    fill.style.width = `${percent}%`;
    bar.dataset.percent = String(percent);
    state.textContent = percent < 100 ? `${percent}% sent` : "sent; the server is reading it…";
  }

  async function submit(event) {
    event.preventDefault();
    problem.textContent = "";
    if (!file.files.length) {
      problem.textContent = "Choose a file first.";
      return;
    }
    const body = new FormData();
    body.append("file", file.files[0]);
    for (const [field, control] of [["name", name], ["target", target], ["task", task]]) {
      if (control.value.trim()) body.append(field, control.value.trim());
    }
    button.disabled = true;
    progress(0, 1);
    try {
      const dataset = await upload("/datasets", body, progress);
      state.textContent = `stored: ${dataset.name}, ${dataset.rows} rows`;
      onUploaded(dataset);
    } catch (error) {
      state.textContent = "";
      problem.textContent = `${error.problem?.title || "Refused"}: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  return el("form", { id: "upload-form", class: "card", novalidate: true, onsubmit: submit },
    el("div", { class: "form-grid" }, labelled("file (CSV/TSV, Parquet, NPZ, zip or tar of images)", file),
      labelled("name", name), labelled("target column", target), labelled("task", task)),
    el("div", { class: "toolbar" }, button, bar, state), problem);
}

export function render(root) {
  const tbody = el("tbody", {});
  const message = el("p", { class: "muted", id: "datasets-message" });

  async function refresh() {
    try {
      const { items } = await api("/datasets?limit=500");
      tbody.replaceChildren(...items.map(row));
      message.textContent = items.length ? "" : "No datasets yet: upload one above.";
    } catch (error) {
      message.textContent = `Cannot list datasets: ${error.message}`;
    }
  }

  root.append(el("h1", {}, "Datasets"), el("h2", {}, "Upload"), uploadForm(refresh), el("h2", {}, "Yours"),
    el("div", { class: "scroll" },
      el("table", { id: "datasets-table" }, el("thead", {}, el("tr", {}, COLUMNS.map((c) => el("th", {}, c)))), tbody)),
    message);
  refresh();
}
