// Small DOM and formatting helpers. Text always goes in as text: job names come from users.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style") node.style.cssText = value; // through the CSSOM: the CSP refuses style attributes
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

export function number(value) {
  if (value === undefined || value === null) return "–";
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(3) : value.toPrecision(4);
}

export function statusBadge(status) {
  return el("span", { class: `status ${status}`, "data-status": status }, status);
}

export function duration(job) {
  if (!job.started_at) return "–";
  const end = job.finished_at ? new Date(job.finished_at) : new Date();
  const seconds = Math.max(0, Math.round((end - new Date(job.started_at)) / 1000));
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}

// Accuracy where a job has one, else its validation loss, else its training loss.
export function bestValidation(job) {
  for (const [name, label] of [["val_accuracy", "val acc"], ["val_loss", "val loss"], ["train_loss", "train loss"]]) {
    const summary = job.metrics?.[name];
    if (summary && summary.best !== null && summary.best !== undefined) return `${number(summary.best)} ${label}`;
  }
  return "–";
}

export function progressBar(job) {
  const { epoch, epochs } = job.progress;
  const share = epochs ? Math.min(100, (100 * epoch) / epochs) : 0;
  return el("span", {}, el("span", { class: "bar" }, el("span", { style: `width:${share}%` })), `${epoch}/${epochs}`);
}

export function shortId(id) {
  return id.slice(0, 8);
}
