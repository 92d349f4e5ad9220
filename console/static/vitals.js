// Heart rate and SpO2 over the last hours on one canvas: heart rate on the left axis, SpO2 on
// the right, because the operator reads them together (a fast pulse with falling saturation is
// the pattern that matters). Gaps in the data (watch off the wrist) stay gaps, not lines.
import { autoCanvas, COLOURS, niceStep } from "./canvas.js";
import { formatHm, parseTime } from "./clock.js";
import { t } from "./i18n.js";

// A gap longer than this between two samples breaks the line: wearables report about once a
// minute, so ten minutes without one means the watch was off or out of range.
const GAP_MS = 10 * 60 * 1000;

export function vitalsSummary(points) {
  const hr = points.filter((p) => Number.isFinite(p.hr)).map((p) => p.hr);
  const spo2 = points.filter((p) => Number.isFinite(p.spo2)).map((p) => p.spo2);
  const last = (xs) => (xs.length ? xs[xs.length - 1] : null);
  return { hr: last(hr), spo2: last(spo2), hrMin: Math.min(...hr), hrMax: Math.max(...hr) };
}

export function vitalsCanvas(points) {
  const rows = points
    .map((p) => ({ ...p, ms: parseTime(p.ts) }))
    .filter((p) => p.ms !== null)
    .sort((a, b) => a.ms - b.ms);
  const s = vitalsSummary(rows);
  const aria = t("vitals.aria", { count: rows.length, hr: s.hr ?? t("none"), spo2: s.spo2 ?? t("none") });
  return autoCanvas("vitals-chart", aria, (g, width, height) => draw(g, width, height, rows));
}

function draw(g, width, height, rows) {
  const pad = { left: 40, right: 40, top: 18, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const t0 = rows[0].ms;
  const t1 = Math.max(rows[rows.length - 1].ms, t0 + 60_000);
  const x = (ms) => pad.left + ((ms - t0) / (t1 - t0)) * plotW;
  const hrs = rows.map((r) => r.hr).filter(Number.isFinite);
  // Heart rate axis always includes 50–110 bpm, the band a resting elder normally sits in.
  const hrLo = Math.min(50, ...hrs);
  const hrHi = Math.max(110, ...hrs);
  const yHr = (v) => pad.top + plotH - ((v - hrLo) / (hrHi - hrLo)) * plotH;
  // SpO2 from 80 %: below that the number itself is the alarm; above, detail matters.
  const yS = (v) => pad.top + plotH - ((Math.max(v, 80) - 80) / 20) * plotH;

  g.lineWidth = 1;
  g.strokeStyle = COLOURS.grid;
  g.fillStyle = COLOURS.line;
  g.textBaseline = "middle";
  const step = niceStep(hrHi - hrLo);
  for (let v = Math.ceil(hrLo / step) * step; v <= hrHi; v += step) {
    g.beginPath();
    g.moveTo(pad.left, yHr(v));
    g.lineTo(pad.left + plotW, yHr(v));
    g.stroke();
    g.textAlign = "right";
    g.fillText(String(v), pad.left - 4, yHr(v));
  }
  g.fillStyle = COLOURS.second;
  g.textAlign = "left";
  for (const v of [80, 90, 100]) g.fillText(`${v}%`, pad.left + plotW + 4, yS(v));

  g.fillStyle = COLOURS.muted;
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const ms of [t0, (t0 + t1) / 2, t1]) {
    g.fillText(formatHm(ms), x(ms), pad.top + plotH + 6);
  }
  g.textBaseline = "bottom";
  g.textAlign = "left";
  g.fillStyle = COLOURS.line;
  g.fillText(t("vitals.hr"), pad.left, pad.top - 4);
  g.textAlign = "right";
  g.fillStyle = COLOURS.second;
  g.fillText(t("vitals.spo2"), pad.left + plotW, pad.top - 4);

  line(g, rows, "hr", x, yHr, COLOURS.line);
  line(g, rows, "spo2", x, yS, COLOURS.second);
}

function line(g, rows, key, x, y, colour) {
  g.strokeStyle = colour;
  g.lineWidth = 1.5;
  g.beginPath();
  let prev = null;
  for (const r of rows) {
    if (!Number.isFinite(r[key]) || r.worn === false) {
      prev = null;
      continue;
    }
    if (prev === null || r.ms - prev > GAP_MS) g.moveTo(x(r.ms), y(r[key]));
    else g.lineTo(x(r.ms), y(r[key]));
    prev = r.ms;
  }
  g.stroke();
}
