// The operator console: sign-in, the live queue, the detail panel and the keyboard.
// State lives here; the modules beside it draw (queue.js, detail.js, chart.js), talk to the
// server (api.js, live.js) or hold small concerns (i18n.js, clock.js, beep.js, dom.js).
import { api } from "./api.js";
import { now, parseTime } from "./clock.js";
import { detailBody, detailHead } from "./detail.js";
import { h } from "./dom.js";
import { onLangChange, t, toggleLang, translateStatic } from "./i18n.js";
import { LiveFeed } from "./live.js";
import { QueueView, byUrgency, isWaiting } from "./queue.js";
import * as sound from "./beep.js";

// Acknowledged alarms stay visible in their own section for an hour (rather than vanishing):
// an operator who has just acknowledged one, or sees a colleague take one, can still click it
// to read the details while phoning the family or the community responder.
const ACKED_KEEP_MS = 60 * 60 * 1000;
// If the WebSocket cannot be (re)established, fall back to polling the REST queue so a
// blocked or flapping socket never leaves the operator blind to new alarms.
const FALLBACK_AFTER_MS = 5000;
const FALLBACK_EVERY_MS = 10_000;

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  waiting: new Map(), // id -> alarm with status "new"
  acked: new Map(), // id -> alarm handled by someone, kept ACKED_KEEP_MS
  seen: new Set(), // ids shown this session, so only genuinely new alarms beep
  firstSync: true, // the queue that greets a sign-in is not "new alarms" and does not beep
  selectedId: null, // keyboard cursor
  openId: null, // alarm shown in the detail panel
  detail: null, // GET /alarms/{id} response for openId
  detailToken: 0, // discards responses for a panel the operator has since moved away from
  ackBusy: false,
  ackError: null,
  conn: "reconnecting",
  reconnectingSince: 0,
  lastFallbackAt: 0,
  signinError: null, // { key } for our own messages (re-translated on switch) or { text }
};

const queueView = new QueueView({
  waitingList: $("queue"),
  ackedList: $("acked"),
  onOpen: (id) => openAlarm(id),
});

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`;
const feed = new LiveFeed(wsUrl, {
  onSnapshot: (alarms) => applySnapshot(alarms),
  onAlarm: (alarm) => applyAlarms([alarm]),
  onState: (s) => setConn(s),
  onUnauthorized: () => signedOut(),
});

// ---- views ---------------------------------------------------------------------------------

function showView(view) {
  document.body.dataset.view = view;
}

function setConn(next) {
  if (next === "reconnecting" && state.conn !== "reconnecting") state.reconnectingSince = Date.now();
  state.conn = next;
  const el = $("conn-state");
  el.dataset.state = next;
  el.textContent = t(`conn.${next}`);
}

function showSound(on) {
  const el = $("sound-state");
  el.dataset.enabled = String(on);
  el.textContent = t(on ? "sound.on" : "sound.off");
}

function currentAlarm(id) {
  return state.waiting.get(id) ?? state.acked.get(id) ?? (state.detail?.alarm.id === id ? state.detail.alarm : null);
}

function orderedAlarms() {
  const waiting = [...state.waiting.values()].sort(byUrgency);
  // Most recently acknowledged first: that is the one the operator is most likely to revisit.
  const acked = [...state.acked.values()].sort(
    (a, b) => (parseTime(b.acknowledged_at) ?? 0) - (parseTime(a.acknowledged_at) ?? 0) || b.id - a.id,
  );
  return { waiting, acked };
}

function render() {
  const { waiting, acked } = orderedAlarms();
  queueView.render(waiting, acked, { selectedId: state.selectedId, openId: state.openId });
  const count = $("waiting-count");
  // Only touch the live region when the number changes, or screen readers repeat it each second.
  if (count.textContent !== String(waiting.length)) count.textContent = String(waiting.length);
  $("queue-empty").hidden = waiting.length > 0;
  $("acked-empty").hidden = acked.length > 0;
  // The count in the tab title is visible while the operator is in another window.
  document.title = (waiting.length ? `(${waiting.length}) ` : "") + t("app.title");
}

// ---- alarms --------------------------------------------------------------------------------

function store(alarm) {
  if (isWaiting(alarm)) {
    state.acked.delete(alarm.id);
    state.waiting.set(alarm.id, alarm);
  } else {
    state.waiting.delete(alarm.id);
    state.acked.set(alarm.id, alarm);
  }
}

function applyAlarms(alarms) {
  const fresh = [];
  for (const alarm of alarms) {
    if (!state.seen.has(alarm.id) && isWaiting(alarm) && !state.firstSync) fresh.push(alarm);
    state.seen.add(alarm.id);
    store(alarm);
    if (alarm.id === state.openId) renderDetailHead();
  }
  render();
  announce(fresh);
}

// A snapshot is the whole truth about what is waiting: anything we still show as waiting but
// the server no longer lists was handled while we were disconnected.
function applySnapshot(alarms) {
  state.waiting.clear();
  applyAlarms(alarms);
  state.firstSync = false;
}

function announce(fresh) {
  if (fresh.length === 0) return;
  for (const alarm of fresh) queueView.flash(alarm.id);
  sound.beep(fresh.some((a) => Number(a.priority) === 1) ? 3 : 1);
}

function pruneAcked() {
  const cutoff = now() - ACKED_KEEP_MS;
  let changed = false;
  for (const [id, alarm] of state.acked) {
    const at = parseTime(alarm.acknowledged_at);
    if (at !== null && at < cutoff && id !== state.openId) {
      state.acked.delete(id);
      changed = true;
    }
  }
  if (changed) render();
}

async function pollFallback() {
  if (!state.user || state.conn === "live") return;
  const stuck = Date.now() - state.reconnectingSince;
  if (stuck < FALLBACK_AFTER_MS || Date.now() - state.lastFallbackAt < FALLBACK_EVERY_MS) return;
  state.lastFallbackAt = Date.now();
  try {
    const data = await api("GET", "/api/v1/alarms?status=open");
    if (state.user && state.conn !== "live") applySnapshot(data.alarms ?? []);
  } catch (err) {
    if (err.status === 401) signedOut();
  }
}

// ---- detail panel --------------------------------------------------------------------------

function detailParts() {
  const panel = $("detail");
  let head = panel.querySelector(".detail-head");
  let body = panel.querySelector(".detail-body");
  if (!head) {
    head = h("div", { class: "detail-head" });
    body = h("div", { class: "detail-body" });
    panel.replaceChildren(head, body);
  }
  return { head, body };
}

function renderDetailHead() {
  const alarm = currentAlarm(state.openId);
  if (!alarm) return;
  const hadFocus = document.activeElement?.id === "ack-button";
  detailParts().head.replaceChildren(...detailHead(alarm, {
    busy: state.ackBusy,
    error: state.ackError,
    onAck: () => acknowledge(),
  }));
  // Keep keyboard users where they were; once the button is gone, the panel takes focus.
  if (hadFocus) ($("ack-button") ?? $("detail")).focus({ preventScroll: true });
}

function renderDetailBody() {
  const { body } = detailParts();
  if (state.detail) {
    // The freshest status is the one the socket told us; the GET may be a moment older.
    const alarm = currentAlarm(state.openId) ?? state.detail.alarm;
    body.replaceChildren(...detailBody({ ...state.detail, alarm }));
  } else {
    body.replaceChildren(h("p", { class: "muted" }, t("detail.loading")));
  }
}

function resetDetail() {
  state.openId = null;
  state.detail = null;
  state.detailToken += 1;
  $("detail").replaceChildren(h("p", { class: "placeholder" }, t("detail.placeholder")));
}

async function loadDetail(id) {
  const token = ++state.detailToken;
  try {
    const data = await api("GET", `/api/v1/alarms/${encodeURIComponent(id)}`);
    if (token !== state.detailToken) return null;
    state.detail = data;
    renderDetailHead();
    renderDetailBody();
    return data;
  } catch (err) {
    if (token !== state.detailToken) return null;
    if (err.status === 401) return signedOut();
    detailParts().body.replaceChildren(
      h("p", { class: "error", role: "alert" }, t("detail.loadFailed", { message: errorText(err) })),
    );
    return null;
  }
}

function openAlarm(id) {
  state.selectedId = id;
  state.openId = id;
  state.detail = null;
  state.ackBusy = false;
  state.ackError = null;
  render();
  // The head comes from the queue's copy at once, so Acknowledge works before details load.
  renderDetailHead();
  renderDetailBody();
  $("detail").scrollTop = 0;
  loadDetail(id);
}

async function acknowledge() {
  const id = state.openId;
  const alarm = currentAlarm(id);
  if (!alarm || !isWaiting(alarm) || state.ackBusy) return;
  state.ackBusy = true;
  state.ackError = null;
  renderDetailHead();
  try {
    const data = await api("POST", `/api/v1/alarms/${encodeURIComponent(id)}/acknowledge`);
    if (data?.alarm) applyAlarms([data.alarm]);
  } catch (err) {
    if (err.status === 401) return signedOut();
    if (state.openId === id) state.ackError = errorText(err);
    // 409: a colleague was quicker. Fetch the alarm so the panel shows who has it.
    if (err.status === 409) {
      const fresh = await loadDetail(id);
      if (fresh?.alarm && !isWaiting(fresh.alarm)) applyAlarms([fresh.alarm]);
    }
  } finally {
    state.ackBusy = false;
    if (state.openId === id) renderDetailHead();
  }
}

// ---- session -------------------------------------------------------------------------------

function errorText(err) {
  if (err.status === 0) return t("err.network");
  return err.detail || t("err.generic", { status: err.status });
}

function showSigninError() {
  const el = $("signin-error");
  const e = state.signinError;
  el.hidden = !e;
  el.textContent = e ? (e.key ? t(e.key) : e.text) : "";
}

function signedIn(user) {
  state.user = user;
  $("user-name").textContent = user.display_name || user.username;
  state.signinError = null;
  showSigninError();
  $("password").value = "";
  showView("console");
  render();
  feed.start();
}

function signedOut() {
  feed.stop();
  state.user = null;
  state.waiting.clear();
  state.acked.clear();
  state.seen.clear();
  state.firstSync = true;
  state.selectedId = null;
  resetDetail();
  render();
  showView("signin");
  $("username").focus();
}

async function submitSignin(event) {
  event.preventDefault();
  const button = $("signin-submit");
  if (button.disabled) return;
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    ($("username").value ? $("password") : $("username")).focus();
    return;
  }
  button.disabled = true;
  button.textContent = t("signin.busy");
  try {
    const data = await api("POST", "/api/v1/session", { username, password });
    signedIn(data.user);
  } catch (err) {
    const key = { 401: "err.wrongCredentials", 429: "err.tooMany", 0: "err.network" }[err.status];
    state.signinError = key ? { key } : { text: errorText(err) };
    showSigninError();
    $("password").select();
  } finally {
    button.disabled = false;
    button.textContent = t("signin.submit");
  }
}

async function signOut() {
  try {
    await api("DELETE", "/api/v1/session");
  } catch {
    // Whatever the server says, this screen stops showing alarms now.
  }
  signedOut();
}

// ---- keyboard ------------------------------------------------------------------------------

function moveSelection(step) {
  const { waiting, acked } = orderedAlarms();
  const ids = [...waiting, ...acked].map((a) => a.id);
  if (ids.length === 0) return;
  const at = ids.indexOf(state.selectedId);
  const next = at < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.min(Math.max(at + step, 0), ids.length - 1);
  state.selectedId = ids[next];
  render();
  queueView.focus(state.selectedId);
}

function onKey(event) {
  if (document.body.dataset.view !== "console") return;
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable]")) return;
  if (event.key === "j" || event.key === "k") {
    event.preventDefault();
    moveSelection(event.key === "j" ? 1 : -1);
  } else if (event.key === "Enter") {
    // On a focused button or link Enter already clicks it; only act when nothing else would.
    if (target.closest?.("button, a")) return;
    if (state.selectedId !== null) {
      event.preventDefault();
      openAlarm(state.selectedId);
    }
  } else if (event.key === "a") {
    event.preventDefault();
    acknowledge();
  }
}

// ---- start ---------------------------------------------------------------------------------

function retranslate() {
  translateStatic();
  setConn(state.conn);
  showSound(sound.enabled());
  showSigninError();
  if (!$("signin-submit").disabled) $("signin-submit").textContent = t("signin.submit");
  render();
  if (state.openId !== null) {
    renderDetailHead();
    renderDetailBody();
  } else {
    resetDetail();
  }
}

async function boot() {
  translateStatic();
  setConn("reconnecting");
  showSound(false);
  render();
  onLangChange(retranslate);
  sound.onSoundChange(showSound);
  // Any click or key press counts as the user gesture that browsers require before sound.
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, () => sound.arm(), true);
  document.addEventListener("keydown", onKey);
  $("lang-toggle").addEventListener("click", () => toggleLang());
  $("signout").addEventListener("click", () => signOut());
  $("signin-form").addEventListener("submit", submitSignin);
  setInterval(() => {
    queueView.tick();
    pruneAcked();
    pollFallback();
  }, 1000);

  try {
    const data = await api("GET", "/api/v1/me");
    signedIn(data.user);
  } catch (err) {
    if (err.status !== 401) {
      state.signinError = err.status === 0 ? { key: "err.network" } : { text: errorText(err) };
      showSigninError();
    }
    showView("signin");
    $("username").focus();
  }
}

boot();
