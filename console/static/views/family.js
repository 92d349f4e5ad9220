// A family member's page: their elder's status (last check-in, heart rate, steps, devices), where
// they are staying away from home, the heart-rate trend, the alert history with outcomes, and how
// they want to be told. The elder is chosen by the address (#/resident/<id>) when they have more
// than one; the server decides what they may see, and anything else is answered "not found" and
// shown as such.
import { api, optional } from "../api.js";
import { fill, h } from "../dom.js";
import { t, label } from "../i18n.js";
import { formatTime } from "../clock.js";
import { devicesCard, field, lastLocation, muted, safePlaces, section, stillFields } from "../detail.js";
import { mapCanvas } from "../map.js";
import { vitalsCanvas } from "../vitals.js";
import { errorText } from "../panel.js";
import { prefsForm } from "./prefs.js";
import { familyTickets } from "./tickets.js";
import { familyStays } from "./stays.js";

const REFRESH_MS = 60_000;

function fromHash() {
  const m = /^#\/resident\/([^/]+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

function historyTable(incidents) {
  if (incidents.length === 0) return muted("family.noHistory");
  return h("div", { class: "table-wrap" }, h("table", { class: "grid-table history", id: "alert-history" },
    h("thead", null, h("tr", null, ["family.col.when", "family.col.what", "family.col.status", "family.col.outcome", "family.col.handled"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, incidents.map((i) => h("tr", { dataset: { incidentId: i.id } },
      h("td", null, formatTime(i.opened_at)),
      h("td", null, label("kind", i.kind)),
      h("td", null, label("status", i.status)),
      h("td", { class: "outcome" }, i.outcome ? label("outcome", i.outcome) : t("none")),
      h("td", null, i.resolved_at ? formatTime(i.resolved_at) : t("none")))))));
}

// What is happening now, at the top of the page, for each alert not yet handled: what a
// daughter opening the page after the SMS wants first. Said in words a family uses: the centre
// is answering, someone is handling it, help is on the way, help has arrived. When the family
// is asked first, the buttons to answer it (alerts/lifecycle.py's family steps).
function nowCard(open, me, act, refused) {
  if (open.length === 0) return null;
  return h("section", { class: "card now-card", id: "family-now", role: "status", "aria-live": "polite" },
    h("h3", null, t("family.now")),
    h("ul", { class: "plain" }, open.map((i) => h("li", { class: ["now-item", `p${i.priority}`], dataset: { incidentId: i.id } },
      h("strong", null, t("family.nowWhat", { what: label("kind", i.kind), time: formatTime(i.opened_at) })),
      h("p", { class: "now-step" }, nowStep(i, me)),
      nowActions(i, me, act),
      refused.has(i.id) ? h("p", { class: "error now-error", role: "alert" }, refused.get(i.id)) : null))));
}

// Where the elder is, while a wandering is open: the map the operator sees, and the latest
// position as a link a phone's map app opens (how old it is, and a warning once it is stale).
function whereNow(where) {
  const fixes = where?.points ?? [];
  if (fixes.length === 0) return null;
  const last = fixes.reduce((a, b) => (a.ts > b.ts ? a : b));
  return section("section.whereNow", mapCanvas(where),
    h("p", { class: "where-now" }, t("family.whereNow"), " ",
      lastLocation({ lat: last.lat, lon: last.lon, acc_m: last.acc, at: last.ts }, new Date().toISOString())));
}

// The centre's "help did not arrive" timer (alerts/lifecycle.py HELP_ARRIVAL) after an accept.
const HELP_ARRIVAL_MS = 30 * 60 * 1000;

function mine(i, me) {
  return i.route === "family_first" && i.dispatched_to === "family" && i.claimed_by === me;
}

function nowActions(i, me, act) {
  const button = (action, key, extra = {}) => h("button", {
    type: "button", class: action === "hand_to_centre" ? null : "primary", dataset: extra.outcome ? { act: action, outcome: extra.outcome } : { act: action },
    onclick: (e) => act(i.id, action, extra, e.currentTarget) }, t(key));
  let buttons = [];
  if (i.route === "family_first" && i.status === "new") {
    buttons = [button("accept", "family.act.accept"), button("hand_to_centre", "family.act.cannotGo")];
  } else if (mine(i, me) && i.status === "dispatched") {
    buttons = [button("on_site", "family.act.arrived"), button("hand_to_centre", "family.act.centrePlease")];
  } else if (mine(i, me) && i.status === "on_site") {
    buttons = [button("resolve", "family.act.allFine", { outcome: "false_alarm" }),
      button("resolve", "family.act.helped", { outcome: "genuine" }),
      button("hand_to_centre", "family.act.centrePlease")];
  }
  return buttons.length ? h("div", { class: "now-actions" }, buttons) : null;
}

function nowStep(i, me) {
  if (mine(i, me) && i.status === "on_site") return t("family.now.youOnSite", { time: formatTime(i.on_site_at) });
  if (mine(i, me) && i.status === "dispatched") {
    const until = new Date(Date.parse(i.dispatched_at) + HELP_ARRIVAL_MS).toISOString();
    return t("family.now.youAccepted", { time: formatTime(i.dispatched_at), until: formatTime(until) });
  }
  if (i.status === "on_site") return t("family.now.onSite", { time: formatTime(i.on_site_at) });
  if (i.status === "dispatched") {
    return t("family.now.dispatched", { who: label("responder", i.dispatched_to), time: formatTime(i.dispatched_at) });
  }
  if (i.status === "claimed" || i.status === "in_progress") return t("family.now.handling");
  // family first (alerts/routing): the family is asked before the centre, until family_until
  if (i.route === "family_first" && i.family_until) return t("family.now.familyFirst", { time: formatTime(i.family_until) });
  return t("family.now.new");
}

// The elder's own devices: the home gateway listed with them is heard while they are not.
function lastSeen(devices) {
  const times = (devices ?? []).filter((d) => d.kind !== "gateway").map((d) => d.last_seen).filter(Boolean).sort();
  return times.length ? formatTime(times[times.length - 1]) : null;
}

export function mountFamily(ctx) {
  const root = ctx.root;
  let stopped = false;
  let current = null;
  const picker = h("nav", { class: "elder-picker", "aria-label": t("family.elders") });
  const body = h("div", { class: "family-body" }, muted("detail.loading"));
  // The preferences are the person's own, not the elder's: built once, and moved (not rebuilt)
  // when the status refreshes, so a half-made change survives the minute's refresh.
  const prefsCard = section("section.prefs", muted("detail.loading"));
  prefsForm(prefsCard, ctx);
  const tickets = familyTickets(ctx); // kept like the preferences: a half-written rating survives
  const stays = familyStays(ctx); // and a half-filled stay
  root.replaceChildren(h("section", { class: "page family", "aria-labelledby": "family-heading" },
    h("div", { class: "page-head" }, h("h2", { id: "family-heading" }, t("family.heading")), picker), body));

  async function residents() {
    const data = await optional("/api/v1/me/residents");
    if (data?.residents?.length) return data.residents;
    const own = ctx.user.scope_resident;
    return own ? [{ id: own, name: own }] : [];
  }

  async function load() {
    let mine;
    try {
      mine = await residents();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      mine = [];
    }
    if (stopped) return;
    const wanted = fromHash() ?? mine[0]?.id ?? null;
    picker.replaceChildren(...(mine.length > 1 ? mine.map((r) =>
      h("a", { href: `#/resident/${encodeURIComponent(r.id)}`, "aria-current": r.id === wanted ? "page" : null }, r.name)) : []));
    if (!wanted) return body.replaceChildren(muted("family.noElder"));
    current = wanted;
    const base = `/api/v1/residents/${encodeURIComponent(wanted)}`;
    try {
      // The record first: if it is not theirs, nothing else is asked for.
      const record = await api("GET", base);
      const [status, history, vitals] = await Promise.all([
        optional(`${base}/status`), optional(`${base}/incidents`), optional(`${base}/vitals?hours=24`)]);
      // while they are out wandering the family sees where, read again with the page
      const wandering = (history?.incidents ?? []).some((i) => i.kind === "wandering" && i.status !== "resolved");
      const where = wandering ? await optional(`${base}/locations?hours=6`) : null;
      if (stopped || current !== wanted) return;
      render(record, status, history, vitals, where);
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      if (stopped || current !== wanted) return;
      const message = err.status === 404 ? t("family.notFound") : errorText(err);
      const own = mine.find((r) => r.id !== wanted);
      fill(body, h("p", { class: "error", id: "family-error", role: "alert" }, message),
        own ? h("p", null, h("a", { href: `#/resident/${encodeURIComponent(own.id)}` }, t("family.back", { name: own.name }))) : null);
    }
  }

  function render(record, status, history, vitals, where) {
    const r = record.resident ?? {};
    const hr = status?.last_hr;
    const points = vitals?.points ?? [];
    const open = (history?.incidents ?? []).filter((i) => i.status !== "resolved");
    fill(body,
      nowCard(open, ctx.user.username, act, refused),
      whereNow(where),
      h("div", { class: "family-grid" },
        section("section.status",
          h("p", { class: "person" }, h("strong", { class: "name", id: "elder-name" }, r.name ?? record.id)),
          status ? h("dl", null,
            field(t("family.lastCheckin"), status.last_checkin ? formatTime(status.last_checkin) : null),
            field(t("family.lastSeen"), lastSeen(status.devices)),
            field(t("family.lastHr"), hr ? t("family.hrAt", { hr: hr.hr, time: formatTime(hr.ts) }) : null),
            field(t("family.steps"), status.steps_today ?? null),
            ...stillFields(status.movement_seen === false ? false : status.inactivity),
            safePlaces(r)) : muted("detail.unavailable")),
        stays.show(record, load),
        devicesCard(status?.devices ?? record.devices),
        section("section.vitals", points.length > 1 ? vitalsCanvas(points) : muted(vitals ? "vitals.none" : "detail.unavailable")),
        section("section.history", history ? historyTable(history.incidents ?? []) : muted("detail.unavailable")),
        tickets.el,
        prefsCard));
    tickets.load(record.resident?.id ?? current);
  }

  // A family step on an alert (accept, arrived, close, hand to the centre): the page is read
  // again after it, and a refusal (the centre claimed it meanwhile) is said where it was asked.
  const refused = new Map(); // incident id -> why the last step on it was refused
  async function act(id, action, extra, button) {
    button.closest(".now-item").querySelectorAll("button").forEach((b) => { b.disabled = true; });
    refused.delete(id);
    try {
      await api("POST", `/api/v1/incidents/${id}/${action}`, extra.outcome ? { outcome: extra.outcome } : {});
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      // 409: someone moved it on meanwhile (the centre claimed it); who is not the family's to read
      refused.set(id, err.status === 409 ? t("family.act.taken") : errorText(err));
    }
    load();
  }

  const onHash = () => load();
  window.addEventListener("hashchange", onHash);
  const timer = setInterval(load, REFRESH_MS);
  load();
  return {
    // An incident of their elder changing (handled, resolved) refreshes the history at once.
    onIncident: () => load(),
    onSnapshot: () => ctx.setWaiting(0),
    poll: load,
    unmount: () => {
      stopped = true;
      clearInterval(timer);
      window.removeEventListener("hashchange", onHash);
    },
  };
}
