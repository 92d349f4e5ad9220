// Reports for a grid node (issue 9): key figures against the centre's targets, the node's
// children side by side (click one to drill down), incidents by kind and outcome, false alarms by
// device model, service tickets, residents by care setting and need, and the devices that have
// stopped reporting. The same figures download as CSV or open as a printable page (the server
// renders both; the browser's "print → Save as PDF" makes the PDF).
// mountReports(ctx, el, node) → { show(node), retranslate(), unmount() }.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t, label, lang } from "../i18n.js";
import { formatAge, formatTime, now } from "../clock.js";
import { autoCanvas, COLOURS } from "../canvas.js";
import { errorText } from "../panel.js";

const DAY_MS = 86_400_000;
const OUTCOMES = ["genuine", "false_alarm", "test", "accidental", "no_answer_escalated", "device_fault"];

const pad = (n) => String(n).padStart(2, "0");
// A local calendar day as the date inputs and the API's local times write it.
const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const pct = (v) => (v === null || v === undefined ? t("none") : `${(Number(v) * 100).toFixed(1)} %`);
const secs = (v) => (v === null || v === undefined ? t("none") : formatAge(Number(v) * 1000));
const zone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "Asia/Shanghai";

// Horizontal bars, one per area: names are long (街道, 社区) and there are few of them.
function barsCanvas(title, rows, { max, target, format }) {
  const summary = rows.map((r) => `${r.name} ${format(r.value)}`).join(", ");
  const canvas = autoCanvas("report-chart", `${title}: ${summary}`, (g, width) => {
    const labelW = Math.min(180, width * 0.35);
    const plotW = width - labelW - 64;
    const top = Math.max(max ?? 0, target ?? 0, ...rows.map((r) => r.value)) || 1;
    g.textBaseline = "middle";
    rows.forEach((r, i) => {
      const y = 8 + i * 24;
      const w = (plotW * r.value) / top;
      g.fillStyle = COLOURS.ink;
      g.textAlign = "right";
      g.fillText(r.name, labelW - 6, y + 9);
      g.fillStyle = target === undefined ? COLOURS.line : r.value >= target ? COLOURS.second : COLOURS.alert;
      g.fillRect(labelW, y + 2, w, 14);
      g.fillStyle = COLOURS.muted;
      g.textAlign = "left";
      g.fillText(format(r.value), labelW + w + 4, y + 9);
    });
    if (target !== undefined) {
      const x = labelW + (plotW * target) / top;
      g.strokeStyle = COLOURS.ink;
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(x, 2);
      g.lineTo(x, 12 + rows.length * 24);
      g.stroke();
    }
  });
  canvas.style.height = `${16 + rows.length * 24}px`;
  return h("figure", { class: "report-figure" }, h("figcaption", null, title), canvas);
}

// In a box of its own that scrolls sideways when the card is narrower than the table (six
// columns of tickets in a third of a 1400 px screen), instead of spilling over the next card.
function table(cls, heads, rows) {
  return h("div", { class: "table-scroll" }, h("table", { class: ["grid-table", cls] },
    h("thead", null, h("tr", null, heads.map((k, i) => h("th", { scope: "col", class: i ? "num" : null }, t(k))))),
    h("tbody", null, rows)));
}

const cells = (values) => values.map((v, i) => h("td", { class: i ? "num" : null }, v));

function tile(key, value, target, actual) {
  const judged = target !== undefined && actual !== null && actual !== undefined;
  return h("div", { class: ["kpi", judged ? (actual >= target ? "kpi-ok" : "kpi-bad") : null], dataset: { kpi: key } },
    h("span", { class: "kpi-name" }, t(`report.kpi.${key}`)),
    h("strong", { class: "kpi-value" }, value),
    target !== undefined ? h("span", { class: "kpi-target" }, t("report.target", { target: pct(target) })) : null);
}

export function mountReports(ctx, el, node) {
  let current = node;
  let data = null;
  let error = null;
  let loading = 0;
  let stopped = false;
  const today = new Date(now());
  let from = isoDate(new Date(today.getTime() - 30 * DAY_MS));
  let to = isoDate(today); // inclusive in the pickers; the API's end is the next midnight
  const root = h("section", { class: "reports", "aria-live": "polite" });
  el.replaceChildren(root);

  function query(format) {
    const end = new Date(`${to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    const q = new URLSearchParams({ from, to: isoDate(end), tz: zone(), lang: lang(), format });
    return `/api/v1/reports/${encodeURIComponent(current)}?${q}`;
  }

  async function load() {
    if (!current) return;
    const mine = ++loading;
    error = from > to ? { text: t("report.badPeriod") } : null;
    if (!error) {
      try {
        const body = await api("GET", query("json"));
        if (stopped || mine !== loading) return;
        data = body;
      } catch (err) {
        if (stopped || mine !== loading) return;
        if (err.status === 401) return ctx.signedOut?.();
        error = { text: errorText(err) };
      }
    }
    draw();
  }

  function controls() {
    const picker = (key, value, set) => h("label", null, t(key), " ",
      h("input", { type: "date", value, class: `report-${key.split(".").pop()}`, required: true,
                   onchange: (e) => { set(e.target.value); load(); } }));
    return h("div", { class: "report-controls" },
      picker("report.from", from, (v) => { from = v; }),
      picker("report.to", to, (v) => { to = v; }),
      h("a", { class: "button report-csv", href: query("csv"), download: "" }, t("report.csv")),
      h("a", { class: "button report-print", href: query("html"), target: "_blank", rel: "noopener" }, t("report.print")));
  }

  function trail() {
    const up = (data?.above ?? []).map((a) => [h("button", { type: "button", class: "link", onclick: () => show(a.id) }, a.name), " › "]);
    return h("p", { class: "report-trail muted" }, up, t(`org.level.${data.node.level}`), " ", data.node.name);
  }

  function tiles(f, targets) {
    return h("div", { class: "kpi-tiles" },
      tile("incidents", String(f.incidents.total)),
      tile("within60", pct(f.answer.answered_60s), targets.answered_60s, f.answer.answered_60s),
      tile("within180", pct(f.answer.answered_180s), targets.answered_180s, f.answer.answered_180s),
      tile("median", secs(f.answer.median_answer_s)),
      tile("falseRate", pct(f.false_alarms.rate)),
      tile("coverage", pct(f.coverage.share)),
      tile("notReporting", String(f.coverage.not_reporting)),
      tile("tickets", `${f.tickets.opened} / ${f.tickets.done}`));
  }

  function children(kids, targets) {
    if (!kids.length) return null;
    const heads = ["report.col.area", "report.col.incidents", "report.col.open", "report.col.within60", "report.col.within180",
      "report.col.median", "report.col.falseRate", "report.col.residents", "report.col.coverage", "report.col.notReporting",
      "report.col.tickets", "report.col.done"];
    const rows = kids.map((c) => h("tr", { dataset: { child: c.id } },
      h("th", { scope: "row" }, h("button", { type: "button", class: "link", onclick: () => show(c.id) }, c.name)),
      cells([String(c.incidents.total), String(c.incidents.open), pct(c.answer.answered_60s), pct(c.answer.answered_180s),
        secs(c.answer.median_answer_s), pct(c.false_alarms.rate), String(c.coverage.residents), pct(c.coverage.share),
        String(c.coverage.not_reporting), String(c.tickets.opened), String(c.tickets.done)])));
    return h("div", { class: "card report-children" }, h("h3", null, t("report.children")), table("report-areas", heads, rows),
      h("div", { class: "report-charts" },
        barsCanvas(t("report.chart.incidents"), kids.map((c) => ({ name: c.name, value: c.incidents.total })), { format: String }),
        barsCanvas(t("report.chart.within60"), kids.map((c) => ({ name: c.name, value: Number(c.answer.answered_60s ?? 0) })),
          { max: 1, target: targets.answered_60s, format: pct }),
        barsCanvas(t("report.chart.coverage"), kids.map((c) => ({ name: c.name, value: Number(c.coverage.share ?? 0) })),
          { max: 1, format: pct })));
  }

  function details(f) {
    const kinds = f.incidents.by_kind.length
      ? table("report-kinds", ["report.col.kind", "report.col.total", "report.col.open", ...OUTCOMES.map((o) => `report.outcome.${o}`)],
        f.incidents.by_kind.map((k) => h("tr", null, cells([label("kind", k.kind), String(k.total), String(k.open),
          ...OUTCOMES.map((o) => String(k.outcomes[o] ?? 0))]))))
      : h("p", { class: "muted" }, t("report.noIncidents"));
    const models = f.false_alarms.by_model.length
      ? table("report-models", ["report.col.device", "report.col.model", "report.col.resolved", "report.col.falseAlarms", "report.col.rate"],
        f.false_alarms.by_model.map((m) => h("tr", null, h("td", null, label("device", m.kind)),
          cells([m.model || t("report.noModel"), String(m.resolved), String(m.false_alarms), pct(m.rate)]))))
      : h("p", { class: "muted" }, t("report.noIncidents"));
    const tickets = table("report-tickets", ["report.col.type", "report.col.opened", "report.col.done", "report.col.cancelled",
      "report.col.visited", "report.col.toVisit"],
    f.tickets.by_type.map((r) => h("tr", null, cells([t(`report.type.${r.type}`), String(r.opened), String(r.done),
      String(r.cancelled), String(r.visited), secs(r.median_to_visit_s)]))));
    const settings = table("report-settings", ["report.col.setting", "report.col.residents", "report.col.covered", "report.col.coverage"],
      f.care_settings.map((s) => h("tr", null, cells([t(`report.setting.${s.care_setting}`), String(s.residents), String(s.covered), pct(s.share)]))));
    const needs = table("report-needs", ["report.col.need", "report.col.residents"],
      Object.entries(f.needs).map(([k, n]) => h("tr", null, cells([t(`report.need.${k}`), String(n)]))));
    return [
      h("div", { class: "card report-kinds-card" }, h("h3", null, t("report.kinds")), kinds),
      h("div", { class: "card" }, h("h3", null, t("report.models")), models),
      h("div", { class: "card" }, h("h3", null, t("report.tickets")), tickets),
      h("div", { class: "card" }, h("h3", null, t("report.settings")), settings, h("h3", { class: "spaced" }, t("report.needs")), needs),
    ];
  }

  function silent(list) {
    const rows = list.rows.map((d) => h("tr", { dataset: { device: d.device_id } },
      h("td", null, d.device_id), h("td", null, label("device", d.kind)), h("td", null, d.model || t("none")),
      h("td", null, d.site_name), h("td", null, d.resident_name ?? t("none")),
      h("td", null, d.last_checkin ? formatTime(d.last_checkin) : t("none")), h("td", null, t(`report.problem.${d.problem}`))));
    return h("div", { class: "card report-silent" },
      h("h3", null, t("report.silent", { n: list.total })),
      rows.length ? h("div", { class: "table-scroll" }, h("table", { class: "grid-table" },
        h("thead", null, h("tr", null, ["report.col.device", "report.col.deviceKind", "report.col.model", "report.col.site",
          "report.col.resident", "report.col.lastHeard", "report.col.problem"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", null, rows))) : h("p", { class: "muted" }, t("report.silentNone")),
      list.total > rows.length ? h("p", { class: "muted" }, t("report.silentMore", { shown: rows.length, total: list.total })) : null);
  }

  function draw() {
    if (stopped) return;
    const head = h("div", { class: "page-head" }, h("h3", null, t("report.heading", { name: data?.node?.name ?? current ?? "" })), controls());
    if (error) return root.replaceChildren(head, h("p", { class: "error" }, t("report.failed", { message: error.text })));
    if (!data) return root.replaceChildren(head, h("p", { class: "muted" }, t("report.loading")));
    root.dataset.node = data.node.id;
    const targets = data.targets ?? {};
    root.replaceChildren(head, trail(), tiles(data.totals, targets), children(data.children ?? [], targets),
      h("div", { class: "report-details" }, details(data.totals)), silent(data.not_reporting));
  }

  function show(next) {
    if (!next) return;
    current = next;
    data = null;
    draw();
    load();
  }

  show(current);
  return {
    show,
    retranslate() { draw(); },
    unmount() { stopped = true; },
  };
}
