// The administrator's page: residents, devices, sites and users as lists with forms, and the
// bulk CSV import. Drawn from the table in admin-entities.js. A refused form shows the
// server's own message beside it: the server validates, the page only reports.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatTime } from "../clock.js";
import { muted } from "../detail.js";
import { errorText } from "../panel.js";
import { ENTITIES } from "./admin-entities.js";
import { importPanel } from "./admin-import.js";

const SHOW_ROWS = 200; // a list longer than this is searched, not scrolled

// The list answer is {"residents": [...]} or similar: take the first array in it.
function rowsOf(data) {
  if (Array.isArray(data)) return data;
  return Object.values(data ?? {}).find(Array.isArray) ?? [];
}

// Timestamps (…_at, last_checkin) in the viewer's zone like everywhere else on the console.
function cell(value, column) {
  if (value === null || value === undefined || value === "") return t("none");
  if (/_at$|^last_/.test(column)) return formatTime(value);
  if (Array.isArray(value)) return value.join(", ");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function input(prefix, f) {
  const id = `${prefix}-${f.name}`;
  const attrs = { id, name: f.name, required: f.required, min: f.min, max: f.max, step: f.step };
  const control = f.options
    ? h("select", attrs, f.required ? null : h("option", { value: "" }, t("none")), f.options.map((o) => h("option", { value: o }, o)))
    : h("input", { ...attrs, type: f.type === "list" ? "text" : f.type ?? "text", autocomplete: f.type === "password" ? "new-password" : "off" });
  return { f, control, el: h("div", { class: ["field", f.type === "checkbox" ? "field-check" : null] },
    h("label", { for: id }, t(`field.${f.name}`), f.required ? h("span", { "aria-hidden": "true" }, " *") : null), control) };
}

function value(f, control, nullable) {
  if (f.type === "checkbox") return control.checked;
  const v = control.value.trim();
  if (v === "") return nullable ? null : undefined;
  if (f.type === "list") return v.split(/[,，、]/).map((x) => x.trim()).filter(Boolean);
  // the viewer's wall time, sent as an instant (UTC) so the server never guesses the zone
  if (f.type === "datetime-local") return new Date(v).toISOString();
  return f.type === "number" ? Number(v) : v;
}

// A form that sends its fields as JSON; the target field (if any) and those marked inPath go
// into the path instead.
function recordForm({ id, titleKey, fields, submitKey, send, nullable, onDone }) {
  const inputs = fields.map((f) => input(id, f));
  const error = h("p", { class: "error form-error", id: `${id}-error`, role: "alert", hidden: true });
  const ok = h("p", { class: "ok", id: `${id}-ok`, role: "status", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, t(submitKey));
  const form = h("form", { class: "record-form", id, novalidate: true },
    h("h4", null, t(titleKey)), h("div", { class: "fields" }, inputs.map((i) => i.el)), submit, error, ok);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = ok.hidden = true;
    const missing = inputs.find((i) => i.f.required && i.f.type !== "checkbox" && !i.control.value.trim());
    if (missing) {
      error.textContent = t("admin.required", { field: t(`field.${missing.f.name}`) });
      error.hidden = false;
      return missing.control.focus();
    }
    const body = {};
    const parts = {};
    let target = null;
    for (const i of inputs) {
      const v = value(i.f, i.control, nullable);
      if (i.f.target) target = v;
      else if (i.f.inPath) parts[i.f.name] = v;
      else if (v !== undefined) body[i.f.name] = v;
    }
    submit.disabled = true;
    try {
      await send(target, body, parts);
      ok.textContent = t("admin.saved");
      ok.hidden = false;
      for (const i of inputs) if (i.f.type === "password") i.control.value = "";
      onDone();
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function entityPanel(entity, ctx) {
  const listEl = h("div", { class: "admin-list" }, muted("detail.loading"));
  const filter = h("input", { type: "search", id: `${entity.name}-filter`, placeholder: t("admin.filter"), "aria-label": t("admin.filter") });
  let rows = [];

  async function load() {
    try {
      rows = rowsOf(await api("GET", entity.path));
      draw();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      listEl.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  }

  function draw() {
    const q = filter.value.trim().toLowerCase();
    const shown = rows.filter((r) => !q || JSON.stringify(r).toLowerCase().includes(q));
    const actions = entity.rowActions ?? [];
    listEl.replaceChildren(
      h("p", { class: "muted small" }, t("admin.count", { shown: Math.min(shown.length, SHOW_ROWS), total: rows.length })),
      h("div", { class: "table-wrap" }, h("table", { class: "grid-table", id: `${entity.name}-table` },
        h("thead", null, h("tr", null, entity.columns.map((c) => h("th", { scope: "col" }, t(`field.${c}`))), actions.length ? h("th", null, "") : null)),
        h("tbody", null, shown.slice(0, SHOW_ROWS).map((r) => h("tr", { dataset: { key: r[entity.key] } },
          entity.columns.map((c) => h("td", null, cell(r[c], c))),
          actions.length ? h("td", null, actions.map((a) => h("button", {
            type: "button", class: "small", disabled: Boolean(r.retired_at),
            onclick: () => rowAction(a, r[entity.key]),
          }, t(`admin.action.${a.name}`)))) : null))))));
  }

  async function rowAction(action, key) {
    if (action.confirm && !window.confirm(t(`admin.confirm.${action.name}`, { id: key }))) return;
    try {
      await api("POST", action.path(key));
      load();
    } catch (err) {
      window.alert(errorText(err));
    }
  }

  filter.addEventListener("input", draw);
  const forms = [
    recordForm({ id: `${entity.name}-create`, titleKey: `admin.create.${entity.name}`, fields: entity.fields,
      submitKey: "admin.create", send: (_, body) => api("POST", entity.path, body), onDone: load }),
    ...(entity.subforms ?? []).map((s) => recordForm({
      id: `${entity.name}-${s.name}`, titleKey: `admin.sub.${s.name}`, fields: s.fields, nullable: s.nullable,
      submitKey: "admin.save", onDone: load,
      send: (target, body, parts) => api(s.method, s.path(target, parts), s.method === "DELETE" ? undefined : body) })),
  ];
  load();
  return h("div", { class: "admin-panel" }, h("div", { class: "admin-forms" }, forms), h("div", null, filter, listEl));
}

export function mountAdmin(ctx) {
  const root = ctx.root;
  const tabs = [...ENTITIES.map((e) => e.name), "import"];
  const content = h("div", { class: "admin-content" });
  const bar = h("div", { class: "tabs", role: "toolbar", "aria-label": t("admin.sections") });

  function show(name) {
    for (const b of bar.children) b.setAttribute("aria-pressed", String(b.dataset.tab === name));
    const entity = ENTITIES.find((e) => e.name === name);
    content.replaceChildren(entity ? entityPanel(entity, ctx) : importPanel(ctx));
  }

  bar.replaceChildren(...tabs.map((name) => h("button", { type: "button", class: "tab", id: `tab-${name}`, dataset: { tab: name }, onclick: () => show(name) }, t(`admin.tab.${name}`))));
  root.replaceChildren(h("section", { class: "page admin", "aria-labelledby": "admin-heading" },
    h("div", { class: "page-head" }, h("h2", { id: "admin-heading" }, t("admin.heading")), bar), content));
  show("residents");
  return { onSnapshot: () => ctx.setWaiting(0) };
}
