// The submit form, built from GET /catalog (components) and the API's own schema (epochs, batch size...).
// Values left empty are left to the API's defaults; its error messages appear next to the fields they name.
import { api, JOB_ID, jobPath } from "../api.js";
import { el } from "../dom.js";
import { SchemaField } from "../fields.js";

const KINDS = [["dataset", "datasets"], ["model", "models"], ["loss", "losses"], ["optimizer", "optimizers"], ["scheduler", "schedulers"]];

// A select standing in for a schema field, with the same face (loc, element, read, setError) so that the API's
// errors land on it like on any other field.
class ChoiceField {
  constructor(loc, label, hint) {
    const id = `f-${loc.join("-")}`;
    this.loc = loc;
    this.input = el("select", { id });
    this.error = el("div", { class: "field-error", role: "alert" });
    this.element = el("div", { class: "field", "data-loc": loc.join(".") },
      el("label", { for: id }, label), this.input, el("div", { class: "hint" }, hint), this.error);
  }

  read() {
    return this.input.value === "" ? undefined : this.input.value;
  }

  // A value to choose once the options that hold it arrive (a rerun's target, before its dataset's columns load).
  write(value) {
    this.wanted = value ?? undefined;
    if (value !== undefined && value !== null) this.input.value = String(value);
  }

  // options: [value, text] pairs; the first is chosen unless `chosen` (or a value written before) names another.
  setOptions(options, chosen = this.wanted) {
    this.input.replaceChildren(...options.map(([value, text]) => el("option", { value }, text)));
    if (options.some(([value]) => value === chosen)) this.input.value = chosen;
    this.input.disabled = options.length < 2 && options[0]?.[0] === "";
  }

  setError(message) {
    this.error.textContent = message || "";
    this.element.classList.toggle("invalid", Boolean(message));
  }
}

// The upload dataset's fields: the user's datasets by name (the id is what is sent), the chosen one's columns as
// targets, then its other parameters as the schema has them ("resolved" is the server's to fill).
function uploadFields(parameters, wanted) {
  const idField = new ChoiceField(["dataset", "id"], "dataset", "one of your uploads (the Datasets page)");
  const targetField = new ChoiceField(["dataset", "target"], "target", "the column to predict");
  idField.setOptions([["", "loading your datasets…"]]);
  targetField.setOptions([["", "the dataset's target"]]);
  const rest = Object.entries(parameters).filter(([name]) => !["id", "target", "resolved"].includes(name))
    .map(([name, p]) => new SchemaField(["dataset", name], name, p));
  let datasets = [];

  function showColumns() {
    const dataset = datasets.find((d) => d.id === idField.input.value);
    const columns = dataset ? dataset.columns.filter((c) => c.dtype !== "array") : [];
    targetField.setOptions([["", `default (${dataset?.target ?? "none"})`],
      ...columns.map((c) => [c.name, `${c.name} (${c.dtype})`])]);
  }

  idField.input.addEventListener("change", showColumns);
  api("/datasets?limit=500").then(({ items }) => {
    datasets = items;
    idField.setOptions(items.length ? items.map((d) => [d.id, d.name]) : [["", "no uploads yet: add one on the Datasets page"]], wanted);
    showColumns();
  }).catch((error) => idField.setOptions([["", `cannot list datasets: ${error.message}`]]));
  return [idField, targetField, ...rest];
}

function componentSection(kind, entries, onChange, initial) {
  const optional = kind === "scheduler";
  const select = el("select", { id: `f-${kind}`, name: kind },
    optional ? el("option", { value: "" }, "none") : "", entries.map((e) => el("option", { value: e.name }, e.name)));
  const error = el("div", { class: "field-error", role: "alert" });
  const description = el("div", { class: "hint" });
  const params = el("div", {});
  const section = { kind, select, fields: [], error };
  function fill() {
    const entry = entries.find((e) => e.name === select.value);
    description.textContent = entry ? entry.description : "No learning-rate schedule.";
    if (entry?.name === "upload") section.fields = uploadFields(entry.parameters, initial?.id);
    else section.fields = entry ? Object.entries(entry.parameters).map(([name, p]) => new SchemaField([kind, name], name, p)) : [];
    params.replaceChildren(...section.fields.map((f) => f.element));
    onChange();
  }
  select.addEventListener("change", fill);
  if (initial) select.value = initial.name ?? "";
  section.element = el("fieldset", { "data-loc": kind }, el("legend", {}, kind),
    el("div", { class: "field", "data-loc": kind }, select, description, error), params);
  section.read = () => {
    if (!select.value) return null;
    const value = { name: select.value };
    for (const field of section.fields) {
      const v = field.read();
      if (v !== undefined) value[field.loc[1]] = v;
    }
    return value;
  };
  fill();
  for (const field of section.fields) if (field.write && initial) field.write(initial[field.loc[1]]);
  return section;
}

// A JSON merge patch (RFC 7396) that turns `before` into `after`: changed values, null for what was removed. The
// server's own `resolved` (an upload's pinned hash) is left alone.
function mergePatch(before, after) {
  const patch = {};
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  for (const key of Object.keys(before)) if (!(key in after) && key !== "resolved") patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    if (key === "resolved") continue;
    if (isObject(value) && isObject(before[key])) {
      const inner = mergePatch(before[key], value);
      if (Object.keys(inner).length) patch[key] = inner;
    } else if (JSON.stringify(value) !== JSON.stringify(before[key])) patch[key] = value;
  }
  return patch;
}

// params: #/submit?dataset=<id> (a dataset page's "Train on it") starts on that upload; #/submit?from=<job id> (a job
// page's "Rerun…") starts filled in with that job's spec and submits a rerun of it with the changes made.
export function render(root, params = new URLSearchParams()) {
  const wanted = params.get("dataset");
  const from = JOB_ID.test(params.get("from") || "") ? params.get("from") : null;
  let original = null;
  const form = el("form", { id: "submit-form", novalidate: true });
  const summary = el("div", { class: "error", id: "submit-problem", role: "alert" });
  root.append(el("h1", {}, from ? "Rerun a job" : "Submit a job"), el("p", { class: "muted" },
    from ? `Filled in with job ${from}'s spec (same seed and dataset); change what you like. The API checks the spec and says what to fix.`
      : "Empty fields take the default shown. The API checks the spec and says what to fix."), form);
  let sections = [];
  let topFields = [];

  function clearErrors() {
    summary.textContent = "";
    for (const s of sections) {
      s.error.textContent = "";
      s.fields.forEach((f) => f.setError(""));
    }
    topFields.forEach((f) => f.setError(""));
  }

  // loc is ["body", kind, param, ...] or ["body", field]: the most specific field that exists gets the message.
  function place(problem) {
    const errors = problem.errors || [];
    for (const error of errors) {
      const loc = error.loc.filter((part) => part !== "body");
      const section = sections.find((s) => s.kind === loc[0]);
      const field = section?.fields.find((f) => f.loc[1] === loc[1]) || topFields.find((f) => f.loc[0] === loc[0]);
      if (field) field.setError(error.msg);
      else if (section) section.error.textContent = error.msg;
    }
    summary.textContent = `${problem.title || "Refused"}: ${problem.detail || ""}`;
  }

  async function submit(event) {
    event.preventDefault();
    clearErrors();
    const spec = {};
    for (const s of sections) spec[s.kind] = s.read();
    for (const f of topFields) {
      const v = f.read();
      if (v !== undefined) spec[f.loc[0]] = v;
    }
    try {
      const job = original
        ? await api(jobPath(from, "/rerun"), { method: "POST", body: mergePatch(original, spec) })
        : await api("/jobs", { method: "POST", body: spec });
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      place(error.problem || { detail: error.message });
    }
  }

  async function build() {
    try {
      const [catalog, openapi, job] = await Promise.all([api("/catalog"), api("/openapi.json"), from ? api(jobPath(from)) : null]);
      const properties = openapi.components.schemas.JobSpec.properties;
      original = job ? job.spec : null;
      const initial = original ?? { dataset: wanted ? { name: "upload", id: wanted } : undefined };
      sections = KINDS.map(([kind, plural]) => componentSection(kind, catalog[plural], () => {}, initial[kind] ?? (original ? {} : undefined)));
      // Every other field of the spec (epochs, batch size, seed, device, limits...), as the API's schema has them.
      const kinds = new Set(KINDS.map(([kind]) => kind));
      topFields = Object.keys(properties).filter((name) => !kinds.has(name))
        .map((name) => new SchemaField([name], name, properties[name]));
      if (original) topFields.forEach((f) => f.write(original[f.loc[0]]));
      form.replaceChildren(
        el("div", { class: "form-grid" }, sections.map((s) => s.element),
          el("fieldset", {}, el("legend", {}, "training"), topFields.map((f) => f.element))),
        el("div", { class: "toolbar", style: "margin-top:14px" }, el("button", { type: "submit", class: "primary", id: "submit-job" }, original ? "Rerun" : "Submit"), summary));
      form.addEventListener("submit", submit);
    } catch (error) {
      form.replaceChildren(el("p", { class: "error" }, `Cannot load the catalog: ${error.message}`));
    }
  }

  build();
}
