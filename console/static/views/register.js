// The resident register of a grid node (issue 9): its residents, narrowed by care setting and need
// category; one resident's health record (conditions, medication, allergies, blood type, doctor),
// their check-ups and wearable day summaries over time on small charts, a form to enter a
// check-up (for the roles that may), and where they have lived (their moves). Opening a record
// is a read of health data: the server writes it to the audit trail.
// mountRegister(ctx, el, node) → { show(node), retranslate(), unmount() }.
import { api } from "../api.js";
import { h, telLink } from "../dom.js";
import { t, label } from "../i18n.js";
import { formatTime, now, parseTime } from "../clock.js";
import { autoCanvas, COLOURS, niceStep } from "../canvas.js";
import { field, list, section, muted } from "../detail.js";
import { errorText } from "../panel.js";

const SETTINGS = ["home", "day_care", "care_home"];
const NEEDS = ["high_age", "empty_nest", "living_alone", "disabled", "partly_disabled", "low_income", "five_guarantee"];
// What the form asks for, in the wire contract's units and ranges (docs/device-api.md).
const MEASURES = [
  { kind: "bp_systolic", min: 40, max: 300, step: 1 },
  { kind: "bp_diastolic", min: 20, max: 200, step: 1 },
  { kind: "glucose", min: 0.5, max: 40, step: 0.1 },
  { kind: "weight", min: 15, max: 300, step: 0.1 },
  { kind: "temperature", min: 30, max: 45, step: 0.1 },
  { kind: "heart_rate", min: 20, max: 250, step: 1 },
  { kind: "spo2", min: 50, max: 100, step: 1 },
];
// One chart per series; blood pressure's two numbers are read together.
const SERIES = [
  { key: "bp", kinds: ["bp_systolic", "bp_diastolic"] },
  { key: "glucose", kinds: ["glucose"] },
  { key: "weight", kinds: ["weight"] },
  { key: "temperature", kinds: ["temperature"] },
  { key: "heart_rate", kinds: ["heart_rate"] },
  { key: "spo2", kinds: ["spo2"] },
];
const ENTERERS = ["admin", "operator", "grid_staff", "care_staff"];
const PERIODS = [30, 90, 365];

const need = (n) => t(`register.need.${n}`);
const setting = (s) => (s ? t(`register.setting.${s}`) : t("none"));
const measure = (k) => t(`register.measure.${k}`);

function select(name, value, options, onchange) {
  return h("select", { name, onchange: (e) => onchange(e.target.value) },
    options.map(([v, text]) => h("option", { value: v, selected: v === value ? "" : null }, text)));
}

// Values of the chosen kinds over time, each bound as a dashed line, abnormal readings in red.
function checkupChart(series, checkups, bounds) {
  const lines = series.kinds.map((k, i) => ({
    kind: k, colour: i ? COLOURS.second : COLOURS.line,
    points: (checkups[k] ?? []).map((c) => ({ ms: parseTime(c.at), value: c.value, abnormal: c.abnormal }))
      .filter((p) => p.ms !== null),
  }));
  const all = lines.flatMap((l) => l.points);
  const limits = bounds.filter((b) => series.kinds.includes(b.kind)).flatMap((b) => [b.low, b.high]).filter(Number.isFinite);
  const aria = t("register.chartAria", { what: t(`register.series.${series.key}`), count: all.length });
  return autoCanvas("checkup-chart", aria, (g, width, height) => {
    const pad = { left: 40, right: 12, top: 14, bottom: 22 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const values = [...all.map((p) => p.value), ...limits];
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi - lo < 1) { lo -= 1; hi += 1; }
    const margin = (hi - lo) * 0.08;
    lo -= margin; hi += margin;
    const t0 = Math.min(...all.map((p) => p.ms));
    const t1 = Math.max(t0 + 3_600_000, ...all.map((p) => p.ms));
    const x = (ms) => pad.left + ((ms - t0) / (t1 - t0)) * plotW;
    const y = (v) => pad.top + plotH - ((v - lo) / (hi - lo)) * plotH;
    g.strokeStyle = COLOURS.grid;
    g.fillStyle = COLOURS.muted;
    g.textAlign = "right";
    g.textBaseline = "middle";
    const step = niceStep(hi - lo);
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      g.beginPath(); g.moveTo(pad.left, y(v)); g.lineTo(pad.left + plotW, y(v)); g.stroke();
      g.fillText(String(Math.round(v * 10) / 10), pad.left - 4, y(v));
    }
    g.strokeStyle = COLOURS.alert;
    g.setLineDash([4, 3]);
    for (const v of limits) {
      g.beginPath(); g.moveTo(pad.left, y(v)); g.lineTo(pad.left + plotW, y(v)); g.stroke();
    }
    g.setLineDash([]);
    g.textBaseline = "top";
    g.textAlign = "left";
    g.fillText(new Date(t0).toLocaleDateString(), pad.left, pad.top + plotH + 6);
    g.textAlign = "right";
    g.fillText(new Date(t1).toLocaleDateString(), pad.left + plotW, pad.top + plotH + 6);
    for (const line of lines) {
      g.strokeStyle = line.colour;
      g.beginPath();
      line.points.forEach((p, i) => (i ? g.lineTo(x(p.ms), y(p.value)) : g.moveTo(x(p.ms), y(p.value))));
      g.stroke();
      for (const p of line.points) {
        g.fillStyle = p.abnormal ? COLOURS.alert : line.colour;
        g.beginPath(); g.arc(x(p.ms), y(p.value), p.abnormal ? 4 : 2.5, 0, 2 * Math.PI); g.fill();
      }
    }
  });
}

// Wearable heart rate per day: the day's range as a bar, its median as a dot.
function wearableChart(days) {
  const rows = days.filter((d) => Number.isFinite(d.hr_median));
  const aria = t("register.wearableAria", { count: rows.length });
  return autoCanvas("checkup-chart", aria, (g, width, height) => {
    const pad = { left: 40, right: 12, top: 14, bottom: 22 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const lo = Math.min(40, ...rows.map((d) => d.hr_min));
    const hi = Math.max(120, ...rows.map((d) => d.hr_max));
    const x = (i) => pad.left + ((i + 0.5) / rows.length) * plotW;
    const y = (v) => pad.top + plotH - ((v - lo) / (hi - lo)) * plotH;
    g.fillStyle = COLOURS.muted;
    g.strokeStyle = COLOURS.grid;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (let v = Math.ceil(lo / 20) * 20; v <= hi; v += 20) {
      g.beginPath(); g.moveTo(pad.left, y(v)); g.lineTo(pad.left + plotW, y(v)); g.stroke();
      g.fillText(String(v), pad.left - 4, y(v));
    }
    g.textBaseline = "top";
    if (rows.length) {
      g.textAlign = "left";
      g.fillText(rows[0].day, pad.left, pad.top + plotH + 6);
      g.textAlign = "right";
      if (rows.length > 1) g.fillText(rows[rows.length - 1].day, pad.left + plotW, pad.top + plotH + 6);
    }
    rows.forEach((d, i) => {
      g.strokeStyle = COLOURS.line;
      g.lineWidth = 3;
      g.beginPath(); g.moveTo(x(i), y(d.hr_min)); g.lineTo(x(i), y(d.hr_max)); g.stroke();
      g.lineWidth = 1;
      g.fillStyle = COLOURS.ink;
      g.beginPath(); g.arc(x(i), y(d.hr_median), 3, 0, 2 * Math.PI); g.fill();
    });
  });
}

function recordCard(r) {
  return section("register.record",
    h("p", { class: "person" }, h("strong", { class: "name" }, r.name), ` ${r.id}`),
    h("dl", null,
      field(t("register.careSetting"), setting(r.care_setting)),
      field(t("register.needs"), list((r.needs ?? []).map(need))),
      field(t("register.conditions"), list(r.conditions)),
      field(t("register.medications"), list(r.medications)),
      field(t("register.allergies"), list(r.allergies)),
      field(t("register.mobility"), label("mobility", r.mobility)),
      field(t("register.bloodType"), r.blood_type),
      field(t("register.doctor"), r.doctor, r.doctor_phone ? " " : null, telLink(r.doctor_phone))));
}

function movesCard(moves) {
  if (!moves.length) return section("register.moves", muted("register.noMoves"));
  return section("register.moves", h("div", { class: "table-wrap" }, h("table", { class: "grid-table moves" },
    h("thead", null, h("tr", null, ["register.col.when", "register.col.from", "register.col.to", "register.col.by", "register.col.reason"]
      .map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, moves.map((m) => h("tr", null,
      h("td", null, formatTime(m.at)),
      h("td", null, `${m.from_site} (${m.from_node ?? t("none")})`),
      h("td", null, `${m.to_site} (${m.to_node ?? t("none")})`),
      h("td", null, m.actor || t("none")),
      h("td", null, m.reason || t("none"))))))));
}

export function mountRegister(ctx, el, node) {
  let current = node;
  let filters = { care_setting: "", need: "" };
  let residents = [];
  let chosen = null; // the resident whose record is open
  let record = null; // { health, moves }
  let days = PERIODS[0];
  let series = SERIES[0].key;
  let message = null; // { text, bad } after a check-up was entered
  let listError = null;
  let recordError = null;
  let listToken = 0;
  let recordToken = 0;
  let stopped = false;
  const bar = h("div", { class: "register-filters" });
  const listEl = h("div", { class: "register-list" });
  const panel = h("div", { class: "register-record", "aria-live": "polite" });
  el.replaceChildren(h("div", { class: "register" }, bar, listEl, panel));


  async function loadList() {
    const mine = ++listToken;
    const params = new URLSearchParams();
    if (current) params.set("node", current);
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
    try {
      const data = await api("GET", `/api/v1/me/residents?${params}`);
      if (stopped || mine !== listToken) return;
      residents = data.residents;
      listError = null;
    } catch (err) {
      if (stopped) return;
      if (err.status === 401) return ctx.signedOut();
      listError = errorText(err);
    }
    drawList();
  }

  async function open(id) {
    chosen = id;
    record = null;
    recordError = null;
    message = null;
    drawList();
    drawPanel();
    const mine = ++recordToken;
    try {
      const [health, moves] = await Promise.all([
        api("GET", `/api/v1/residents/${encodeURIComponent(id)}/health?days=${days}`),
        api("GET", `/api/v1/residents/${encodeURIComponent(id)}/moves`),
      ]);
      if (stopped || mine !== recordToken) return;
      record = { health, moves: moves.moves };
    } catch (err) {
      if (stopped || mine !== recordToken) return;
      if (err.status === 401) return ctx.signedOut();
      recordError = errorText(err);
    }
    drawPanel();
  }

  async function enter(form) {
    const readings = {};
    for (const m of MEASURES) {
      const raw = form.elements[m.kind].value.trim();
      if (raw !== "") readings[m.kind] = Number(raw);
    }
    try {
      const done = await api("POST", `/api/v1/residents/${encodeURIComponent(chosen)}/checkups`, { readings });
      const found = done.findings.map((f) => `${measure(f.measure)}: ${t(`register.finding.${f.finding}`)}`);
      message = found.length
        ? { text: t("register.entered.abnormal", { findings: found.join(" · ") }), bad: true }
        : { text: t("register.entered.normal"), bad: false };
      const keep = message;
      await open(chosen);
      message = keep;
      drawPanel();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      message = { text: errorText(err), bad: true };
      drawPanel();
    }
  }

  function drawFilters() {
    bar.replaceChildren(
      h("label", { class: "field" }, h("span", null, t("register.careSetting")),
        select("care_setting", filters.care_setting, [["", t("register.all")], ...SETTINGS.map((s) => [s, setting(s)])],
          (v) => { filters = { ...filters, care_setting: v }; loadList(); })),
      h("label", { class: "field" }, h("span", null, t("register.needs")),
        select("need", filters.need, [["", t("register.all")], ...NEEDS.map((n) => [n, need(n)])],
          (v) => { filters = { ...filters, need: v }; loadList(); })));
  }

  function drawList() {
    if (listError) return listEl.replaceChildren(h("p", { class: "error" }, listError));
    if (!residents.length) return listEl.replaceChildren(muted("register.empty"));
    const year = new Date(now()).getFullYear();
    listEl.replaceChildren(h("p", { class: "muted" }, t("register.count", { count: residents.length })),
      h("div", { class: "table-wrap" }, h("table", { class: "grid-table residents", id: "register-residents" },
        h("thead", null, h("tr", null, ["register.col.name", "register.col.age", "register.careSetting", "register.needs"]
          .map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", null, residents.map((r) => h("tr", { dataset: { resident: r.id }, class: r.id === chosen ? "chosen" : null },
          h("td", null, h("button", { type: "button", class: "link", onclick: () => open(r.id) }, r.name)),
          h("td", null, r.birth_year ? String(year - r.birth_year) : t("none")),
          h("td", null, setting(r.care_setting)),
          h("td", null, list((r.needs ?? []).map(need)))))))));
  }

  function entryForm() {
    if (!ENTERERS.includes(ctx.user.role)) return null;
    const form = h("form", { class: "record-form checkup-form", onsubmit: (e) => { e.preventDefault(); enter(form); } },
      h("div", { class: "fields" }, MEASURES.map((m) => h("label", { class: "field" },
        h("span", null, `${measure(m.kind)} (${t(`register.unit.${m.kind}`)})`),
        h("input", { name: m.kind, type: "number", inputmode: "decimal", min: m.min, max: m.max, step: m.step })))),
      h("button", { type: "submit" }, t("register.enter")));
    return section("register.entry", form,
      message ? h("p", { class: message.bad ? "error" : "ok", role: "status" }, message.text) : null);
  }

  function drawPanel() {
    if (!chosen) return panel.replaceChildren(muted("register.pick"));
    if (recordError) return panel.replaceChildren(h("p", { class: "error" }, recordError));
    if (!record) return panel.replaceChildren(muted("detail.loading"));
    const { health, moves } = record;
    const chosenSeries = SERIES.find((s) => s.key === series);
    const hasReadings = chosenSeries.kinds.some((k) => (health.checkups[k] ?? []).length);
    panel.replaceChildren(
      recordCard(health.record),
      section("register.readings",
        h("div", { class: "register-filters" },
          select("series", series, SERIES.map((s) => [s.key, t(`register.series.${s.key}`)]), (v) => { series = v; drawPanel(); }),
          select("days", String(days), PERIODS.map((d) => [String(d), t("register.days", { days: d })]),
            (v) => { days = Number(v); open(chosen); })),
        hasReadings ? checkupChart(chosenSeries, health.checkups, health.bounds) : muted("register.noReadings")),
      section("register.wearable",
        health.wearable_days.length ? wearableChart(health.wearable_days) : muted("register.noWearable")),
      entryForm(),
      movesCard(moves));
  }

  function draw() {
    drawFilters();
    drawList();
    drawPanel();
  }

  draw();
  loadList();
  return {
    show(next) {
      current = next;
      chosen = null;
      record = null;
      loadList();
      drawPanel();
    },
    retranslate() { draw(); },
    unmount() { stopped = true; },
  };
}
