// The supervisor's board: answer-time KPIs against the centre's targets, per operator and per
// shift, every open incident with who holds it, operators online and the last 24 hours by hour.
// Refreshed every 15 s and whenever an incident changes (debounced: a burst of smoke alarms is
// one refresh, not fifty).
import { api, optional } from "../api.js";
import { h } from "../dom.js";
import { t, label } from "../i18n.js";
import { formatAge, formatTime, now, parseTime } from "../clock.js";
import { hourlyCanvas } from "../bars.js";
import { badges, byUrgency, centreSince, priorityClass } from "../queue.js";
import { errorText } from "../panel.js";
import { muted } from "../detail.js";
import { mountReports } from "./reports.js";

const REFRESH_MS = 15_000;
const DEBOUNCE_MS = 1000;
// The 12349 targets when the server does not send its own: 97.5 % answered within 60 s and
// 99 % within 180 s.
const DEFAULT_TARGETS = { answered_60s: 0.975, answered_180s: 0.99 };

function pct(v) {
  return v === null || v === undefined ? t("none") : `${(Number(v) * 100).toFixed(1)} %`;
}

// Shares come from the server as fractions 0..1 (null when there were no incidents).
function share(row, key) {
  const v = row?.[key];
  return v === null || v === undefined ? null : Number(v);
}

function secs(v) {
  return v === null || v === undefined ? t("none") : formatAge(Number(v) * 1000);
}

function kpiTile(nameKey, value, target) {
  const ok = value === null || target === undefined || value >= target;
  return h("div", { class: ["kpi", ok ? "kpi-ok" : "kpi-bad"], dataset: { kpi: nameKey } },
    h("span", { class: "kpi-name" }, t(nameKey)),
    h("strong", { class: "kpi-value" }, pct(value)),
    target !== undefined ? h("span", { class: "kpi-target" }, t("kpi.target", { target: pct(target) })) : null);
}

function kpiRow(name, row) {
  return h("tr", null,
    h("th", { scope: "row" }, name),
    h("td", null, String(row.incidents ?? 0)),
    h("td", null, pct(share(row, "answered_60s"))),
    h("td", null, pct(share(row, "answered_180s"))),
    h("td", null, String(row.unanswered ?? 0)),
    h("td", null, secs(row.median_answer_s)),
    h("td", null, secs(row.median_dispatch_s)),
    h("td", null, secs(row.median_resolve_s)));
}

function kpiTable(captionKey, rows, emptyKey = "kpi.noRows") {
  const heads = ["kpi.incidents", "kpi.within60", "kpi.within180", "kpi.unanswered", "kpi.medianAnswer", "kpi.medianDispatch", "kpi.medianResolve"];
  if (rows.length === 0) return h("p", { class: "muted", dataset: { empty: captionKey } }, t(emptyKey));
  return h("div", { class: "table-scroll" }, h("table", { class: "grid-table kpi-table" },
    h("caption", null, t(captionKey)),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, ""), heads.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, rows.map(([name, row]) => kpiRow(name, row)))));
}

function incidentTable(incidents) {
  if (incidents.length === 0) return muted("sup.noOpen");
  return h("div", { class: "table-scroll" }, h("table", { class: "grid-table incidents-table" },
    h("thead", null, h("tr", null, ["sup.col.priority", "sup.col.kind", "sup.col.resident", "sup.col.status", "sup.col.holder", "sup.col.age"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, incidents.map((i) => {
      const waited = now() - (parseTime(i.opened_at) ?? now());
      // the answer targets run from when it reached the centre; a family-first window is not late
      const since = centreSince(i);
      const reached = since === null ? 0 : now() - since;
      const cls = i.status === "new" ? (reached >= 180_000 ? "overdue-180" : reached >= 60_000 ? "overdue-60" : null) : null;
      return h("tr", { class: cls, dataset: { incidentId: i.id } },
        h("td", null, h("span", { class: ["prio", priorityClass(i)] }, `P${i.priority}`)),
        h("td", null, label("kind", i.kind), " ", badges(i)),
        h("td", null, i.resident_name || i.site_name || t("none")),
        h("td", null, label("status", i.status)),
        h("td", null, i.claimed_by ?? t("sup.nobody")),
        h("td", { class: "num" }, formatAge(waited)));
    }))));
}

// Every service of the alarm path and how it is (alerts/intake.py): the red line under the
// header says when something is wrong; this says what is right, and when each lane last took a
// device message, so a supervisor can trust a quiet queue.
function pathTable(path) {
  if (!path) return muted("detail.unavailable");
  return h("div", { class: "table-scroll" }, h("table", { class: "grid-table path-table" },
    h("thead", null, h("tr", null, ["sup.path.service", "sup.path.state", "sup.path.lastMessage"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, (path.services ?? []).map((s) => h("tr", { class: s.problem ? "overdue-180" : null, dataset: { service: s.name } },
      h("td", null, label("service", s.role), s.name !== s.role ? h("span", { class: "muted" }, ` (${s.name})`) : null),
      h("td", { class: "path-state" }, s.problem
        ? t(`intake.problem.${s.problem}`, { service: "", time: s.since ? formatTime(s.since) : "", devices: s.devices, usual: Math.round(s.usual_devices ?? 0) }).trim()
        : t("sup.path.ok")),
      h("td", { class: "num" }, s.last_message_at
        ? formatAge(Math.max(0, parseTime(path.now) - parseTime(s.last_message_at))) : t("none")))))));
}

// Each time the on-call engineer was paged about the path (alerts/oncall.py), newest first.
function pagesTable(path) {
  if (!path) return null;
  if (!path.oncall && !path.pages?.length) return muted("sup.pages.off");
  if (!path.pages?.length) return muted("sup.pages.none");
  return h("div", { class: "table-scroll" }, h("table", { class: "grid-table pages-table" },
    h("thead", null, h("tr", null, ["sup.pages.paged", "sup.pages.trouble", "sup.pages.delivered", "sup.pages.taken", "sup.pages.cleared"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, path.pages.map((p) => h("tr", { class: p.cleared_at ? null : "overdue-180", dataset: { page: p.id } },
      h("td", null, formatTime(p.paged_at)),
      h("td", null, (p.problems ?? []).map((s) => t(`intake.problem.${s.problem}`, {
        service: label("service", s.role), time: s.since ? formatTime(s.since) : "", devices: s.devices, usual: Math.round(s.usual_devices ?? 0) })).join("; ")),
      h("td", { class: "num" }, p.delivered === null ? t("sup.pages.sending") : `${p.delivered} / ${p.recipients}`),
      h("td", null, p.taken_at ? `${p.taken_by} · ${formatTime(p.taken_at)}` : "—"),
      h("td", null, p.cleared_at ? formatTime(p.cleared_at) : t("sup.pages.open")))))));
}

export function mountSupervisor(ctx) {
  const root = ctx.root;
  let timer = null;
  let debounce = null;
  let stopped = false;
  const status = h("p", { class: "muted small", "aria-live": "polite" });
  const body = h("div", { class: "sup-body" }, muted("detail.loading"));
  // Reports for the grid's root (the city), below the board; the board's refreshes leave it be.
  const reportsEl = h("section", { class: "card sup-reports", "aria-label": t("report.section") });
  let reports = null;
  root.replaceChildren(h("section", { class: "page supervisor", "aria-labelledby": "sup-heading" },
    h("div", { class: "page-head" }, h("h2", { id: "sup-heading" }, t("sup.heading")), status), body, reportsEl));
  api("GET", "/api/v1/org").then((tree) => {
    if (!stopped && tree.nodes?.length) reports = mountReports(ctx, reportsEl, tree.nodes[0].id);
  }).catch(() => reportsEl.remove());

  async function load() {
    const until = new Date(now());
    const since = new Date(until.getTime() - 24 * 3600 * 1000);
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "Asia/Shanghai";
    const kq = `/api/v1/kpis?since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}&tz=${encodeURIComponent(tz)}`;
    try {
      const [kpis, open, overview, path] = await Promise.all([
        api("GET", kq), api("GET", "/api/v1/incidents?status=open"), optional("/api/v1/supervisor/overview"),
        optional("/api/v1/intake")]);
      if (stopped) return;
      render(kpis, open.incidents ?? [], overview, path);
      status.textContent = t("sup.updated", { time: formatTime(until.toISOString()) });
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      status.textContent = t("detail.loadFailed", { message: errorText(err) });
    }
  }

  function render(kpis, incidents, overview, path) {
    const targets = { ...DEFAULT_TARGETS, ...(kpis.targets ?? {}) };
    const overall = kpis.overall ?? {};
    const sorted = [...incidents].sort(byUrgency);
    const waiting = sorted.filter((i) => i.status === "new");
    const active = sorted.filter((i) => i.status !== "new");
    ctx.setWaiting(overview?.waiting ?? waiting.length);
    // The server lists everyone with a page open; the board is about who can answer calls.
    const online = overview?.operators_online?.filter((o) => !o.role || o.role === "operator");
    body.replaceChildren(
      h("section", { class: "card kpis", "aria-labelledby": "kpi-heading" },
        h("h3", { id: "kpi-heading" }, t("kpi.heading")),
        h("div", { class: "kpi-tiles" },
          kpiTile("kpi.within60", share(overall, "answered_60s"), targets.answered_60s),
          kpiTile("kpi.within180", share(overall, "answered_180s"), targets.answered_180s),
          h("div", { class: "kpi" }, h("span", { class: "kpi-name" }, t("kpi.medianAnswer")), h("strong", { class: "kpi-value" }, secs(overall.median_answer_s))),
          h("div", { class: "kpi" }, h("span", { class: "kpi-name" }, t("kpi.medianDispatch")), h("strong", { class: "kpi-value" }, secs(overall.median_dispatch_s))),
          h("div", { class: "kpi" }, h("span", { class: "kpi-name" }, t("kpi.medianResolve")), h("strong", { class: "kpi-value" }, secs(overall.median_resolve_s))),
          h("div", { class: "kpi" }, h("span", { class: "kpi-name" }, t("kpi.incidents")), h("strong", { class: "kpi-value", id: "kpi-incidents" }, String(overall.incidents ?? 0)))),
        // an operator has a row once they answered one: none yet is not "no incidents"
        kpiTable("kpi.byOperator", Object.entries(kpis.by_operator ?? {}), "kpi.noAnswers"),
        kpiTable("kpi.byShift", Object.entries(kpis.by_shift ?? {}))),
      h("section", { class: "card" },
        h("h3", null, t("sup.waiting", { n: waiting.length })), incidentTable(waiting),
        h("h3", { class: "spaced" }, t("sup.active", { n: active.length })), incidentTable(active)),
      h("section", { class: "card" },
        h("h3", null, t("sup.online")),
        online ? (online.length ? h("ul", { class: "plain" }, online.map((o) => h("li", null, o.display_name || o.username, h("span", { class: "muted" }, ` (${o.username})`)))) : muted("sup.nobodyOnline"))
          : muted("detail.unavailable"),
        h("h3", { class: "spaced" }, t("hourly.heading")),
        overview?.hourly ? hourlyCanvas(overview.hourly) : muted("detail.unavailable")),
      h("section", { class: "card" }, h("h3", null, t("sup.path")), pathTable(path),
        h("h3", { class: "spaced" }, t("sup.pages")), pagesTable(path)));
  }

  function soon() {
    clearTimeout(debounce);
    debounce = setTimeout(load, DEBOUNCE_MS);
  }

  load();
  timer = setInterval(load, REFRESH_MS);
  return {
    onSnapshot: () => soon(),
    onIncident: () => soon(),
    poll: load,
    unmount: () => {
      stopped = true;
      reports?.unmount();
      clearInterval(timer);
      clearTimeout(debounce);
    },
  };
}
