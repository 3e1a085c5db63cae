// Form fields made from JSON Schema (the catalog's parameters, the spec's own fields): each shows its default and
// bounds, reads back a value (undefined: leave it to the API's default), and has a slot for the API's error.
import { el } from "./dom.js";

function bounds(schema) {
  const parts = [];
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`< ${schema.exclusiveMaximum}`);
  if (schema.maxItems !== undefined && schema.type === "array") parts.push(`at most ${schema.maxItems} items`);
  return parts.join(", ");
}

function show(value) {
  return Array.isArray(value) ? value.join(", ") : value === null ? "none" : String(value);
}

function parseItem(text, type) {
  const value = Number(text);
  return text !== "" && Number.isFinite(value) && (type !== "integer" || Number.isInteger(value)) ? value : text;
}

// A control for one schema: [element, read(), write(value)].
function control(id, schema, nullable) {
  const choose = (select) => (value) => { select.value = value === undefined ? "" : String(value); };
  if (schema.enum) {
    const select = el("select", { id }, el("option", { value: "" }, `default (${show(schema.default)})`),
      schema.enum.map((v) => el("option", { value: v }, v)));
    // The choice as the schema types it: the API takes 3, not "3", for a number from a list.
    return [select, () => (select.value === "" ? undefined : schema.enum.find((v) => String(v) === select.value)), choose(select)];
  }
  if (schema.type === "boolean") {
    const select = el("select", { id }, el("option", { value: "" }, `default (${show(schema.default)})`),
      el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
    return [select, () => (select.value === "" ? undefined : select.value === "true"), choose(select)];
  }
  const numeric = schema.type === "number" || schema.type === "integer";
  // Text, not type=number: "none" must be typable, and the API's own message explains a bad number.
  const placeholder = schema.default === undefined || schema.default === null ? "optional" : `default: ${show(schema.default)}`;
  const input = el("input", { id, type: "text", inputmode: numeric ? "decimal" : "text", placeholder });
  const read = () => {
    const text = input.value.trim();
    if (text === "") return undefined;
    if (nullable && text.toLowerCase() === "none") return null;
    if (schema.type === undefined && text.startsWith("{")) {
      try {
        return JSON.parse(text); // an object field (early_stopping) typed as JSON
      } catch {
        return text;
      }
    }
    if (schema.type === "string") return text;
    if (schema.type === "array") {
      const itemType = schema.items?.type || schema.prefixItems?.[0]?.type;
      return text.split(",").map((part) => parseItem(part.trim(), itemType));
    }
    return numeric ? parseItem(text, schema.type) : text;
  };
  // Objects (early_stopping) are shown as JSON; the form reads them back as text, which the API explains.
  const write = (value) => {
    input.value = value === undefined ? "" : typeof value === "object" && value !== null && !Array.isArray(value) ? JSON.stringify(value) : show(value);
  };
  return [input, read, write];
}

export class SchemaField {
  constructor(loc, name, property) {
    const options = property.anyOf || [property];
    const schema = { ...options.find((o) => o.type !== "null"), default: property.default };
    const nullable = options.some((o) => o.type === "null");
    this.loc = loc;
    const id = `f-${loc.join("-")}`;
    [this.input, this.read, this.write] = control(id, schema, nullable);
    const noneTypable = nullable && property.default !== null && property.default !== undefined;
    const hint = [property.description, bounds(schema), noneTypable ? "'none' for null" : ""].filter(Boolean).join(" · ");
    this.error = el("div", { class: "field-error", role: "alert" });
    this.element = el("div", { class: "field", "data-loc": loc.join(".") },
      el("label", { for: id }, name), this.input, el("div", { class: "hint" }, hint), this.error);
  }

  setError(message) {
    this.error.textContent = message || "";
    this.element.classList.toggle("invalid", Boolean(message));
  }
}
