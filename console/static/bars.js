// Incidents per hour for the last 24 hours, stacked by priority (P1 at the bottom, where the
// eye starts): the supervisor sees when the night's load came and how much of it was urgent.
import { autoCanvas, COLOURS, niceStep } from "./canvas.js";
import { formatHm, parseTime } from "./clock.js";
import { t } from "./i18n.js";

const PRIORITIES = ["1", "2", "3", "4"];

export function hourlyCanvas(hourly) {
  const rows = (hourly ?? [])
    .map((r) => ({ ...r, ms: parseTime(r.hour), total: PRIORITIES.reduce((s, p) => s + (Number(r[p]) || 0), 0) }))
    .filter((r) => r.ms !== null)
    .sort((a, b) => a.ms - b.ms);
  const total = rows.reduce((s, r) => s + r.total, 0);
  const peak = rows.reduce((best, r) => (r.total > (best?.total ?? -1) ? r : best), null);
  const aria = t("hourly.aria", { total, peak: peak ? formatHm(peak.ms) : t("none"), max: peak?.total ?? 0 });
  return autoCanvas("hourly-chart", aria, (g, w, h) => draw(g, w, h, rows));
}

function draw(g, width, height, rows) {
  const pad = { left: 34, right: 8, top: 22, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(4, ...rows.map((r) => r.total));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  g.strokeStyle = COLOURS.grid;
  g.fillStyle = COLOURS.ink;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (let v = 0; v <= top; v += step) {
    g.beginPath();
    g.moveTo(pad.left, y(v));
    g.lineTo(pad.left + plotW, y(v));
    g.stroke();
    g.fillText(String(v), pad.left - 4, y(v));
  }
  const slot = plotW / Math.max(1, rows.length);
  const barW = Math.max(2, slot * 0.7);
  rows.forEach((r, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const p of PRIORITIES) {
      const n = Number(r[p]) || 0;
      if (!n) continue;
      g.fillStyle = COLOURS[`p${p}`];
      g.fillRect(x, y(base + n), barW, y(base) - y(base + n));
      base += n;
    }
    // Every third hour labelled: 24 labels would overlap on a tablet.
    if (i % 3 === 0) {
      g.fillStyle = COLOURS.muted;
      g.textAlign = "center";
      g.textBaseline = "top";
      g.fillText(formatHm(r.ms), x + barW / 2, pad.top + plotH + 5);
    }
  });
  // Legend along the top.
  let lx = pad.left;
  g.textAlign = "left";
  g.textBaseline = "middle";
  for (const p of PRIORITIES) {
    g.fillStyle = COLOURS[`p${p}`];
    g.fillRect(lx, 6, 10, 10);
    g.fillStyle = COLOURS.ink;
    g.fillText(`P${p}`, lx + 14, 11);
    lx += 44;
  }
}
