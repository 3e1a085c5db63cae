// The submit form, built from GET /catalog (components) and the API's own schema (epochs, batch size...).
// Values left empty are left to the API's defaults; its error messages appear next to the fields they name.
import { api } from "../api.js";
import { el } from "../dom.js";
import { SchemaField } from "../fields.js";

const KINDS = [["dataset", "datasets"], ["model", "models"], ["loss", "losses"], ["optimizer", "optimizers"], ["scheduler", "schedulers"]];

function componentSection(kind, entries, onChange) {
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
    section.fields = entry ? Object.entries(entry.parameters).map(([name, p]) => new SchemaField([kind, name], name, p)) : [];
    params.replaceChildren(...section.fields.map((f) => f.element));
    onChange();
  }
  select.addEventListener("change", fill);
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
  return section;
}

export function render(root) {
  const form = el("form", { id: "submit-form", novalidate: true });
  const summary = el("div", { class: "error", id: "submit-problem", role: "alert" });
  root.append(el("h1", {}, "Submit a job"), el("p", { class: "muted" },
    "Empty fields take the default shown. The API checks the spec and says what to fix."), form);
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
      const job = await api("/jobs", { method: "POST", body: spec });
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      place(error.problem || { detail: error.message });
    }
  }

  async function build() {
    try {
      const [catalog, openapi] = await Promise.all([api("/catalog"), api("/openapi.json")]);
      const properties = openapi.components.schemas.JobSpec.properties;
      sections = KINDS.map(([kind, plural]) => componentSection(kind, catalog[plural], () => {}));
      // Every other field of the spec (epochs, batch size, seed, device, limits...), as the API's schema has them.
      const kinds = new Set(KINDS.map(([kind]) => kind));
      topFields = Object.keys(properties).filter((name) => !kinds.has(name))
        .map((name) => new SchemaField([name], name, properties[name]));
      form.replaceChildren(
        el("div", { class: "form-grid" }, sections.map((s) => s.element),
          el("fieldset", {}, el("legend", {}, "training"), topFields.map((f) => f.element))),
        el("div", { class: "toolbar", style: "margin-top:14px" }, el("button", { type: "submit", class: "primary", id: "submit-job" }, "Submit"), summary));
      form.addEventListener("submit", submit);
    } catch (error) {
      form.replaceChildren(el("p", { class: "error" }, `Cannot load the catalog: ${error.message}`));
    }
  }

  build();
}
