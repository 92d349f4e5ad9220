// The console shell: sign-in, the header, the live feed and the choice of view by role
// (GET /api/v1/me → user.role). Each view lives in views/ and gets a small context: the user,
// setWaiting() for the header count and signedOut() for an expired session.
import { api } from "./api.js";
import { h } from "./dom.js";
import { label, lang, onLangChange, setLang, t, toggleLang, translateStatic } from "./i18n.js";
import { formatTime } from "./clock.js";
import { LiveFeed } from "./live.js";
import { errorText } from "./panel.js";
import * as sound from "./beep.js";
import { mountOperator } from "./views/operator.js";
import { mountSupervisor } from "./views/supervisor.js";
import { mountCareHome } from "./views/carehome.js";
import { mountFamily } from "./views/family.js";
import { mountAdmin } from "./views/admin.js";
import { mountCivil } from "./views/civil.js";
import { mountProvider } from "./views/provider.js";

// If the WebSocket cannot be (re)established, fall back to polling REST so a blocked or
// flapping socket never leaves anyone blind to new incidents.
const FALLBACK_AFTER_MS = 5000;
const FALLBACK_EVERY_MS = 10_000;
// Whether the alarm path works (GET /api/v1/intake): asked this often by everyone who answers
// alarms. The services beat every 5 s and are judged silent after 30 s, so a dead ingest shows
// within 40 s on every screen.
const INTAKE_EVERY_MS = 10_000;
const ANSWERING = new Set(["operator", "supervisor", "admin", "care_staff"]);
const TAKING = new Set(["admin", "supervisor"]); // who may say "I'm on it" to a page

// Role → view: a table, so a new role is one line. Unknown roles get the family view's
// "nothing to show" rather than an operator's powers on screen.
const VIEWS = {
  operator: mountOperator,
  supervisor: mountSupervisor,
  care_staff: mountCareHome,
  family: mountFamily,
  admin: mountAdmin,
  bureau: mountCivil,
  grid_staff: mountCivil,
  provider: mountProvider,
};

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  view: null, // the mounted view's handlers
  conn: "reconnecting",
  reconnectingSince: 0,
  lastFallbackAt: 0,
  signinError: null, // { key } for our own messages (re-translated on switch) or { text }
  waiting: 0,
  intake: null, // the last answer of GET /api/v1/intake, or null
  intakeAt: 0,
  intakeSounded: new Set(), // "name:problem" of the troubles already sounded
};

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`;
const feed = new LiveFeed(wsUrl, {
  onSnapshot: (alarms, incidents) => state.view?.onSnapshot?.(alarms, incidents),
  onAlarm: (alarm) => state.view?.onAlarm?.(alarm),
  onIncident: (incident) => state.view?.onIncident?.(incident),
  onState: (s) => setConn(s),
  onUnauthorized: () => signedOut(),
});

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

function setWaiting(n) {
  state.waiting = n;
  const count = $("waiting-count");
  // Only touch the live region when the number changes, or screen readers repeat it.
  if (count.textContent !== String(n)) count.textContent = String(n);
  // The count in the tab title is visible while the operator is in another window.
  document.title = (n ? `(${n}) ` : "") + t("app.title");
}

function showSigninError() {
  const el = $("signin-error");
  const e = state.signinError;
  el.hidden = !e;
  el.textContent = e ? (e.key ? t(e.key) : e.text) : "";
}

function signedIn(user) {
  state.user = user;
  // The language remembered on the server follows the person to any screen they sign in at.
  if (user.lang && user.lang !== lang()) setLang(user.lang);
  $("user-name").textContent = user.display_name || user.username;
  $("user-role").textContent = t(`role.${user.role}`);
  state.signinError = null;
  showSigninError();
  $("password").value = "";
  document.body.dataset.role = user.role;
  showView("console");
  mountView();
  feed.start();
  state.intakeAt = 0;
  checkIntake();
}

function mountView() {
  state.view?.unmount?.();
  const mount = VIEWS[state.user.role] ?? mountFamily;
  state.view = mount({ user: state.user, setWaiting, signedOut, root: $("role-view") });
  $("help-line").textContent = state.view.helpKey ? t(state.view.helpKey) : "";
}

function signedOut() {
  feed.stop();
  state.view?.unmount?.();
  state.view = null;
  state.user = null;
  delete document.body.dataset.role;
  $("role-view").replaceChildren();
  state.intake = null;
  showIntake();
  setWaiting(0);
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

// "Alarm path fault: alarm intake not heard from since 07:41:12. ..." above every view, in red,
// for as long as any service of the alarm path is in trouble (alerts/intake.py).
function showIntake() {
  const el = $("intake-alert");
  const troubled = state.user && ANSWERING.has(state.user.role)
    ? (state.intake?.services ?? []).filter((s) => s.problem) : [];
  el.hidden = troubled.length === 0;
  // a trouble not sounded yet sounds once (a re-translation or a repeat answer does not)
  const troubles = new Set(troubled.map((s) => `${s.name}:${s.problem}`));
  if ([...troubles].some((k) => !state.intakeSounded.has(k))) sound.fault();
  state.intakeSounded = troubles;
  if (el.hidden) return el.replaceChildren();
  const problems = troubled.map((s) => {
    const service = label("service", s.role) + (s.name !== s.role ? ` (${s.name})` : "");
    return t(`intake.problem.${s.problem}`, { service, time: s.since ? formatTime(s.since) : "", devices: s.devices, usual: Math.round(s.usual_devices ?? 0) });
  });
  // who was told (alerts/oncall.py): the engineer paged, or paging failed and the operator must
  // call; once an engineer has said "I'm on it", who and since when
  const page = state.intake?.page;
  const key = page?.taken_at ? "intake.faultTaken" : page?.delivered > 0 ? "intake.faultPaged"
    : page?.delivered === 0 ? "intake.faultPageFailed" : "intake.fault";
  const text = t(key, {
    problems: problems.join(lang() === "zh-CN" ? "；" : "; "),
    time: page ? formatTime(page.taken_at ?? page.paged_at) : "", who: page?.taken_by ?? "",
  });
  // the engineers (admins) and supervisors can say someone is on it (console/intake.py)
  const canTake = Boolean(page && !page.taken_at && TAKING.has(state.user.role));
  el.replaceChildren(...[h("span", { class: "intake-text" }, text),
    canTake && h("button", { type: "button", class: "intake-take", onclick: () => takePage(page.id) }, t("intake.take"))]
    .filter(Boolean));
}

async function takePage(id) {
  try {
    await api("POST", `/api/v1/intake/pages/${id}/take`);
  } catch (err) {
    if (err.status === 401) return signedOut();
    // taken by someone else meanwhile, or over: the next look shows which
  }
  state.intakeAt = 0;
  await checkIntake();
}

async function checkIntake() {
  if (!state.user || !ANSWERING.has(state.user.role) || Date.now() - state.intakeAt < INTAKE_EVERY_MS) return;
  state.intakeAt = Date.now();
  try {
    state.intake = await api("GET", "/api/v1/intake");
  } catch (err) {
    if (err.status === 401) return signedOut();
    // the console itself unreachable: the connection state already says so
  }
  showIntake();
}

async function pollFallback() {
  if (!state.user || state.conn === "live" || !state.view?.poll) return;
  const stuck = Date.now() - state.reconnectingSince;
  if (stuck < FALLBACK_AFTER_MS || Date.now() - state.lastFallbackAt < FALLBACK_EVERY_MS) return;
  state.lastFallbackAt = Date.now();
  state.view.poll();
}

function onKey(event) {
  if (document.body.dataset.view !== "console" || !state.view?.onKey) return;
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  state.view.onKey(event);
}

// The toggle switches now and tells the server, so the choice follows the person; a server
// without PUT /me still gets the switch on this browser.
async function switchLang() {
  toggleLang();
  if (!state.user) return;
  try {
    await api("PUT", "/api/v1/me", { lang: lang() });
  } catch {
    // remembered in this browser only
  }
}

function retranslate() {
  translateStatic();
  setConn(state.conn);
  showSound(sound.enabled());
  showSigninError();
  if (!$("signin-submit").disabled) $("signin-submit").textContent = t("signin.submit");
  setWaiting(state.waiting);
  showIntake();
  if (state.user) {
    $("user-role").textContent = t(`role.${state.user.role}`);
    // Views that can re-label in place do; the others are drawn afresh (they load their
    // own data), which is simpler than tracking every label they made.
    if (state.view?.retranslate) state.view.retranslate();
    else if (state.view) {
      mountView();
      state.view.poll?.();
    }
    $("help-line").textContent = state.view?.helpKey ? t(state.view.helpKey) : "";
  }
}

async function boot() {
  translateStatic();
  setConn("reconnecting");
  showSound(false);
  onLangChange(retranslate);
  sound.onSoundChange(showSound);
  // Any click or key press counts as the user gesture that browsers require before sound.
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, () => sound.arm(), true);
  document.addEventListener("keydown", onKey);
  $("lang-toggle").addEventListener("click", () => switchLang());
  $("signout").addEventListener("click", () => signOut());
  $("signin-form").addEventListener("submit", submitSignin);
  setInterval(() => {
    state.view?.tick?.();
    pollFallback();
    checkIntake();
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
