// Bulk import from CSV: the admin picks a file, the page sends its text as text/csv and shows
// what was created and, row by row, what the server refused and why.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { errorText } from "../panel.js";
import { IMPORTS } from "./admin-entities.js";

export function importPanel(ctx) {
  const kind = h("select", { id: "import-kind" }, IMPORTS.map((i) => h("option", { value: i.name }, t(`admin.tab.${i.name}`))));
  const file = h("input", { type: "file", id: "import-file", accept: ".csv,text/csv" });
  const columns = h("p", { class: "muted small", id: "import-columns" });
  const submit = h("button", { type: "submit", class: "primary", id: "import-submit" }, t("import.submit"));
  const result = h("div", { id: "import-result", "aria-live": "polite" });
  const showColumns = () => {
    columns.textContent = t("import.columns", { columns: IMPORTS.find((i) => i.name === kind.value).columns });
  };
  kind.addEventListener("change", showColumns);
  showColumns();

  const form = h("form", { class: "record-form import-form", id: "import-form", novalidate: true },
    h("h4", null, t("import.heading")),
    h("div", { class: "fields" },
      h("div", { class: "field" }, h("label", { for: "import-kind" }, t("import.kind")), kind),
      h("div", { class: "field" }, h("label", { for: "import-file" }, t("import.file")), file)),
    columns, submit, result);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, t("import.noFile")));
      return;
    }
    submit.disabled = true;
    result.replaceChildren(h("p", { class: "muted" }, t("import.sending")));
    try {
      const text = await chosen.text();
      const target = IMPORTS.find((i) => i.name === kind.value);
      const data = await api("POST", target.path, text, { contentType: "text/csv" });
      const errors = data?.errors ?? [];
      result.replaceChildren(
        h("p", { class: errors.length ? "warn" : "ok", id: "import-summary" }, t("import.summary", { created: data?.created ?? 0, errors: errors.length })),
        errors.length ? h("table", { class: "grid-table", id: "import-errors" },
          h("thead", null, h("tr", null, h("th", { scope: "col" }, t("import.row")), h("th", { scope: "col" }, t("import.message")))),
          h("tbody", null, errors.map((e) => h("tr", { dataset: { row: e.row } }, h("td", { class: "num" }, String(e.row)), h("td", null, e.message))))) : null);
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      result.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(err)));
    } finally {
      submit.disabled = false;
    }
  });
  return h("div", { class: "admin-panel" }, form);
}
