// The accelerometer magnitude around a detected fall, drawn on a canvas so the operator can
// see at a glance whether it looks like a real fall (a spike well above 1 g followed by
// stillness near 1 g) or a device being dropped or shaken.
import { t } from "./i18n.js";

// Fixed colours rather than CSS variables: the canvas cannot read them cheaply and the panel
// background is always white.
const INK = "#1a1a1a";
const GRID = "#d0d4da";
const LINE = "#0b4f9c";
const PEAK = "#b00020";

export function describe(snippet) {
  const mags = snippet.magnitude;
  const hz = Number(snippet.hz) || 50;
  let peakIdx = 0;
  mags.forEach((m, i) => {
    if (m > mags[peakIdx]) peakIdx = i;
  });
  return { hz, peakIdx, peak: mags[peakIdx], seconds: mags.length / hz };
}

export function magnitudeCanvas(snippet) {
  const canvas = document.createElement("canvas");
  canvas.className = "snippet-chart";
  const info = describe(snippet);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", t("chart.label", {
    seconds: info.seconds.toFixed(1), hz: info.hz, peak: info.peak.toFixed(2), at: (info.peakIdx / info.hz).toFixed(2),
  }));
  // Draw once the canvas has a size, and again whenever the panel is resized (tablet rotation).
  const observer = new ResizeObserver(() => {
    if (!canvas.isConnected) {
      observer.disconnect();
      return;
    }
    draw(canvas, snippet, info);
  });
  observer.observe(canvas);
  return canvas;
}

function draw(canvas, snippet, info) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  // Back the canvas with device pixels so lines stay crisp on high-DPI tablets.
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);

  const mags = snippet.magnitude;
  const pad = { left: 36, right: 10, top: 12, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  // At least 0..2 g so that a quiet trace still shows where 1 g (standing still) lies.
  const yMax = Math.max(2, Math.ceil(info.peak * 1.1));
  const x = (i) => pad.left + (mags.length > 1 ? (i / (mags.length - 1)) * plotW : 0);
  const y = (v) => pad.top + plotH - (Math.min(v, yMax) / yMax) * plotH;

  g.font = "11px system-ui, sans-serif";
  g.lineWidth = 1;
  g.fillStyle = INK;

  // Horizontal grid every 1 g (every 2 g for big spikes so labels do not collide).
  const yStep = yMax > 8 ? 2 : 1;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (let v = 0; v <= yMax; v += yStep) {
    g.strokeStyle = GRID;
    g.setLineDash(v === 1 ? [4, 3] : []);
    g.beginPath();
    g.moveTo(pad.left, y(v));
    g.lineTo(pad.left + plotW, y(v));
    g.stroke();
    g.fillText(`${v} g`, pad.left - 4, y(v));
  }
  g.setLineDash([]);

  // Seconds along the bottom.
  g.textAlign = "center";
  g.textBaseline = "top";
  const secStep = info.seconds > 12 ? 2 : 1;
  for (let s = 0; s <= info.seconds + 1e-9; s += secStep) {
    g.fillText(`${s} s`, x(s * info.hz), pad.top + plotH + 6);
  }

  g.strokeStyle = LINE;
  g.lineWidth = 1.5;
  g.beginPath();
  mags.forEach((m, i) => (i === 0 ? g.moveTo(x(i), y(m)) : g.lineTo(x(i), y(m))));
  g.stroke();

  // Mark the peak: it is the number the detector reported, so the two can be checked together.
  g.fillStyle = PEAK;
  g.beginPath();
  g.arc(x(info.peakIdx), y(info.peak), 4, 0, 2 * Math.PI);
  g.fill();
  const nearRightEdge = x(info.peakIdx) > width - 60;
  g.textAlign = nearRightEdge ? "right" : "left";
  g.textBaseline = "bottom";
  const labelX = x(info.peakIdx) + (nearRightEdge ? -6 : 6);
  g.fillText(`${info.peak.toFixed(2)} g`, labelX, Math.max(pad.top + 12, y(info.peak) - 2));
}
