// Time as the operator should see it: ages measured against the server's clock, times shown in
// the viewer's own time zone and language.
import { lang } from "./i18n.js";

// Waiting ages are "server now minus raised_at". A PC whose clock is a few minutes off would
// turn every alarm red (or hide an overdue one), so we follow the HTTP Date header.
//
// The header is coarse: whole seconds, and the server (uvicorn) refreshes it once a second, so
// the server's clock read up to DATE_SLACK_MS past it when the response left. And the response
// left somewhere between our request and its arrival, which under load can be seconds apart.
// So a header proves only that the offset lies in [date - received, date + slack - sent]; we
// move the clock by the least that interval demands, and not at all when it holds 0. (Taking
// "date - now" at face value once made a slow answer look like a PC clock 2 s fast, and the
// supervisor's "last 24 h" then ended before an incident opened a second earlier.)
const DATE_SLACK_MS = 2000;
let offsetMs = 0;

export function noteServerDate(header, sentMs, receivedMs = Date.now()) {
  const server = Date.parse(header ?? "");
  if (Number.isNaN(server)) return;
  const sent = sentMs ?? receivedMs;
  const low = server - receivedMs; // the server is at least this far ahead of us
  const high = server + DATE_SLACK_MS - sent; // and at most this far
  offsetMs = low > 0 ? low : high < 0 ? high : 0;
}

export function now() {
  return Date.now() + offsetMs;
}

export function parseTime(iso) {
  const ms = Date.parse(iso ?? "");
  return Number.isNaN(ms) ? null : ms;
}

// The interface language picks the language of dates, but the browser's own locale of that
// language picks the conventions: en-GB writes 18/11/2026, en-US 11/18/2026.
function locale() {
  const base = lang().split("-")[0];
  return (navigator.languages ?? []).find((l) => l.split("-")[0] === base) ?? lang();
}

// Formatters are cached per language: building an Intl.DateTimeFormat is slow and the queue
// formats every row on each render.
const cache = new Map();
function formatter(kind) {
  const key = `${lang()}|${kind}`;
  if (!cache.has(key)) {
    const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    if (kind === "date") Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
    cache.set(key, new Intl.DateTimeFormat(locale(), options));
  }
  return cache.get(key);
}

function sameLocalDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// "14:03:27" for today, with the date in front for anything older: an operator reading
// "08:00" for an alarm from yesterday would misjudge how long it has waited.
export function formatTime(iso) {
  const ms = parseTime(iso);
  if (ms === null) return iso ? String(iso) : "—";
  const date = new Date(ms);
  return formatter(sameLocalDay(date, new Date(now())) ? "time" : "date").format(date);
}

// 0:42, 12:05, 1:02:09 — a stopwatch, which reads the same in both languages.
export function formatAge(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = String(total % 60).padStart(2, "0");
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  return hours > 0 ? `${hours}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// "14:03" for chart axes, where seconds would only crowd the labels.
const hmCache = new Map();
export function formatHm(ms) {
  const key = lang();
  if (!hmCache.has(key)) hmCache.set(key, new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }));
  return hmCache.get(key).format(new Date(ms));
}
