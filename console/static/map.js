// Where the elder is, without a tile server: home as a point with its safe radius drawn as a
// circle, the other safe places their carers named (a daughter's flat) as circles of their own,
// the recent fixes around it (newest darkest), and a scale bar. An operator needs to know "at
// home", "at their daughter's", "just outside" or "two kilometres away", which this shows at a
// glance.
import { autoCanvas, COLOURS } from "./canvas.js";
import { formatTime, parseTime } from "./clock.js";
import { t } from "./i18n.js";

const EARTH_M = 6_371_000;

// Local flat projection around the home: metres east and north. Exact enough over a district
// (error well under 1 % within 20 km).
export function toMetres(origin, p) {
  const rad = Math.PI / 180;
  return {
    x: (p.lon - origin.lon) * rad * EARTH_M * Math.cos(origin.lat * rad),
    y: (p.lat - origin.lat) * rad * EARTH_M,
  };
}

export function distanceM(origin, p) {
  const m = toMetres(origin, p);
  return Math.hypot(m.x, m.y);
}

export function mapCanvas(data) {
  const points = (data.points ?? []).filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon))
    .sort((a, b) => (parseTime(a.ts) ?? 0) - (parseTime(b.ts) ?? 0));
  const home = data.home ?? null;
  const places = home ? (data.places ?? []).filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon)) : [];
  const origin = home ?? points[points.length - 1];
  const last = points[points.length - 1];
  const away = home && last ? Math.round(distanceM(home, last)) : null;
  const aria = away === null
    ? t("map.ariaNoHome", { count: points.length })
    : t("map.aria", { count: points.length, metres: away, at: formatTime(last.ts) });
  return autoCanvas("map-chart", aria, (g, w, h) => draw(g, w, h, origin, home, places, points));
}

function draw(g, width, height, origin, home, places, points) {
  const cx = width / 2;
  const cy = height / 2;
  const pts = points.map((p) => ({ ...toMetres(origin, p), acc: p.acc }));
  // Fit the farthest of: the safe circle, every fix; never zoom in closer than 100 m across.
  // Other places are not fitted: one across town would shrink home to a dot; when the elder
  // is there, their fixes bring it into view.
  const reach = Math.max(50, (home?.radius_m ?? 0) * 1.2, ...pts.map((p) => Math.hypot(p.x, p.y) * 1.1));
  const scale = (Math.min(width, height) / 2 - 16) / reach; // px per metre
  const px = (m) => ({ x: cx + m.x * scale, y: cy - m.y * scale });

  g.fillStyle = "#f4f7fa";
  g.fillRect(0, 0, width, height);
  if (home) {
    g.strokeStyle = COLOURS.second;
    g.fillStyle = "#12723a18";
    g.lineWidth = 2;
    g.beginPath();
    g.arc(cx, cy, (home.radius_m ?? 0) * scale, 0, 2 * Math.PI);
    g.fill();
    g.stroke();
  }
  for (const place of places) {
    const at = px(toMetres(origin, place));
    g.strokeStyle = COLOURS.second;
    g.fillStyle = "#12723a10";
    g.lineWidth = 1.5;
    g.setLineDash([6, 4]);
    g.beginPath();
    g.arc(at.x, at.y, place.radius_m * scale, 0, 2 * Math.PI);
    g.fill();
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = COLOURS.ink;
    g.textAlign = "left";
    g.textBaseline = "bottom";
    g.fillText(place.name, at.x + 8, at.y - 6);
  }
  pts.forEach((p, i) => {
    const at = px(p);
    const newest = i === pts.length - 1;
    // Older fixes fade so the path reads as a trail ending at the newest one.
    g.globalAlpha = newest ? 1 : 0.25 + 0.6 * (i / Math.max(1, pts.length - 1));
    g.fillStyle = newest ? COLOURS.alert : COLOURS.line;
    g.beginPath();
    g.arc(at.x, at.y, newest ? 6 : 3.5, 0, 2 * Math.PI);
    g.fill();
  });
  g.globalAlpha = 1;
  if (home) {
    g.fillStyle = COLOURS.ink;
    g.fillRect(cx - 5, cy - 5, 10, 10);
    g.textAlign = "left";
    g.textBaseline = "bottom";
    g.fillText(t("map.home"), cx + 8, cy - 6);
  }
  scaleBar(g, width, height, scale);
}

// A bar of a round length (10, 20, 50, 100 … m) about a fifth of the width.
function scaleBar(g, width, height, scale) {
  const target = width / 5 / scale;
  const mag = 10 ** Math.floor(Math.log10(target));
  const metres = [1, 2, 5, 10].map((m) => m * mag).filter((m) => m <= target).pop() ?? mag;
  const len = metres * scale;
  const x0 = 12;
  const y0 = height - 14;
  g.strokeStyle = COLOURS.ink;
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(x0, y0 - 4);
  g.lineTo(x0, y0);
  g.lineTo(x0 + len, y0);
  g.lineTo(x0 + len, y0 - 4);
  g.stroke();
  g.fillStyle = COLOURS.ink;
  g.textAlign = "left";
  g.textBaseline = "bottom";
  g.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, x0 + len + 6, y0 + 2);
}
