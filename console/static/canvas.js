// A canvas that redraws itself whenever its box changes size (panel opened, tablet rotated),
// backed by device pixels so lines stay crisp on high-DPI tablets. Every chart on the console
// is drawn by the app on one of these: no chart library, nothing loaded from elsewhere.

export const COLOURS = {
  ink: "#1a1a1a",
  muted: "#5f6b7a",
  grid: "#d0d4da",
  line: "#0b4f9c",
  second: "#12723a",
  alert: "#b00020",
  p1: "#b00020",
  p2: "#c2410c",
  p3: "#e0a800",
  p4: "#5f6b7a",
};

// draw(g, width, height) gets a context already scaled to CSS pixels and cleared.
export function autoCanvas(className, ariaLabel, draw) {
  const canvas = document.createElement("canvas");
  canvas.className = className;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", ariaLabel);
  const observer = new ResizeObserver(() => {
    if (!canvas.isConnected) {
      observer.disconnect();
      return;
    }
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "11px system-ui, sans-serif";
    draw(g, width, height);
    canvas.dataset.drawn = "true"; // lets a test wait for the first real drawing
  });
  observer.observe(canvas);
  return canvas;
}

// "Nice" axis steps (1, 2, 5 × 10^n) so gridlines land on round numbers.
export function niceStep(range, targetLines = 4) {
  const raw = range / Math.max(1, targetLines);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? mag * 10;
}
