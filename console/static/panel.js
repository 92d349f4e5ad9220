// The incident panel (#detail): the head with the status and the Claim button (#ack-button),
// the work area (call back, dispatch, on site, outcome, notes) for whoever holds the incident,
// and the cards. Cards are built once per opened incident; a change of status only redraws the
// head, the work area's enabled buttons and the timeline, so charts do not flicker.
import { api, optional } from "./api.js";
import { fill, h } from "./dom.js";
import { t, label } from "./i18n.js";
import { formatTime } from "./clock.js";
import * as cards from "./detail.js";
import { vitalsCanvas } from "./vitals.js";
import { mapCanvas } from "./map.js";
import { stayHereForm } from "./views/stays.js";
import { badges, isWaiting, place, priorityClass } from "./queue.js";

export const RESPONDERS = ["family", "community_responder", "care_staff", "ambulance_120", "fire_119", "police_110"];
export const OUTCOMES = ["genuine", "false_alarm", "test", "accidental", "no_answer_escalated", "device_fault"];
const ACTIVE = ["claimed", "in_progress", "dispatched", "on_site"];
const HOURS = 6; // the vitals and location history shown: the morning or the night so far
// An elder out wandering is looked for where they are now, not where the alarm found them:
// while a wandering incident is open in the panel its map is read again this often (the watch
// sends a fix a minute).
const FOLLOW_MS = 10 * 1000;

// A family member pressed "I'm going" on a family-first alarm (alerts/lifecycle.py accept): the
// operator reads who, and when the centre takes it back if nobody says they are there.
const HELP_ARRIVAL_MS = 30 * 60 * 1000;
function familyGoing(inc) {
  if (inc.route !== "family_first" || inc.dispatched_to !== "family" || inc.status !== "dispatched" || !inc.claimed_by) return null;
  const until = new Date(Date.parse(inc.dispatched_at) + HELP_ARRIVAL_MS).toISOString();
  return h("p", { class: "family-going" }, t("detail.familyGoing", {
    who: inc.family_holder || inc.claimed_by, time: formatTime(inc.dispatched_at), until: formatTime(until) }));
}

export class IncidentPanel {
  // me: the signed-in user; onChange(incident): the server answered a step with a new state.
  constructor({ root, me, onChange, onUnauthorized }) {
    this.root = root;
    this.me = me;
    this.onChange = onChange;
    this.onUnauthorized = onUnauthorized;
    this.token = 0;
    this.following = null; // the token of the panel whose map is being followed (a wandering)
    this.close();
  }

  get id() {
    return this.incident?.id ?? null;
  }

  close() {
    this.token += 1;
    this.incident = null;
    this.data = null;
    this.busy = false;
    this.error = null;
    this.root.replaceChildren(h("p", { class: "placeholder" }, t("detail.placeholder")));
  }

  async open(incident) {
    const token = ++this.token;
    this.incident = incident;
    this.data = null;
    this.busy = false;
    this.error = null;
    this.parts = {
      head: h("div", { class: "detail-head" }),
      work: h("div", { class: "detail-work" }),
      body: h("div", { class: "detail-body" }, cards.muted("detail.loading")),
    };
    this.root.replaceChildren(this.parts.head, this.parts.work, this.parts.body);
    this.root.scrollTop = 0;
    this.renderHead(false);
    // The Claim button appears once the panel says who and where: claiming blind invites a
    // wrong call-back, and the head does not jump as the cards arrive (a few milliseconds).
    let detail = null;
    let alarmDetail = null;
    try {
      detail = await api("GET", `/api/v1/incidents/${incident.id}`);
      if (token !== this.token) return;
      this.incident = detail.incident ?? this.incident;
      const alarmId = this.incident.first_alarm_id ?? detail.alarm_ids?.[0];
      if (alarmId) alarmDetail = await api("GET", `/api/v1/alarms/${alarmId}`);
    } catch (err) {
      if (err.status === 401) return this.onUnauthorized();
      this.error = t("detail.loadFailed", { message: errorText(err) });
    }
    if (token !== this.token) return;
    this.data = { detail, alarmDetail };
    this.renderHead(true);
    this.renderWork();
    this.renderBody();
    this.loadExtras(token);
  }

  // The incident changed (socket message or our own step): refresh what depends on its state.
  update(incident) {
    if (!this.incident || incident.id !== this.incident.id) return;
    this.incident = incident;
    if (!this.data) return;
    this.renderHead(true);
    this.syncWork();
    this.refreshTimeline();
  }

  async refreshTimeline() {
    const token = this.token;
    try {
      const detail = await api("GET", `/api/v1/incidents/${this.incident.id}`);
      if (token !== this.token) return;
      this.data.detail = detail;
      // a wandering that has just joined this incident (a vital sign's, say): follow it now
      if (this.parts.map) this.follow(token, 0);
      this.parts.timeline?.replaceWith((this.parts.timeline = cards.timelineCard(detail.timeline)));
      if (detail.alarms || detail.alarm_ids) {
        this.parts.alarms?.replaceWith((this.parts.alarms = cards.alarmsCard(detail.alarms, detail.alarm_ids)));
      }
    } catch (err) {
      if (err.status === 401) this.onUnauthorized();
    }
  }

  mine() {
    const inc = this.incident;
    return ACTIVE.includes(inc.status) && (inc.claimed_by === this.me.username || ["supervisor", "admin"].includes(this.me.role));
  }

  renderHead(ready) {
    const inc = this.incident;
    const hadFocus = document.activeElement?.closest?.(".detail-head button") ? document.activeElement.id : null;
    // a community's outage is the community's, not its first gateway's home (queue.js place)
    const title = inc.kind === "area_outage" ? place(inc)
      : [inc.resident_name, inc.site_name].filter(Boolean).join(" · ");
    const status = isWaiting(inc)
      ? h("span", { class: "status waiting" }, t("detail.status.new"))
      : h("span", { class: ["status", inc.status === "resolved" ? "resolved" : "acked"] },
        label("status", inc.status),
        inc.claimed_by ? ` · ${t("detail.heldBy", { who: inc.family_holder || inc.claimed_by })}` : "",
        inc.outcome ? ` · ${label("outcome", inc.outcome)}` : "");
    const button = (id, key, action, extra) => h("button", {
      type: "button", id, class: extra, disabled: this.busy, onclick: () => this.step(action),
    }, t(key));
    const actions = [];
    if (ready && isWaiting(inc)) actions.push(button("ack-button", this.busy ? "detail.claiming" : "detail.claim", "claim", "primary"));
    if (ready && this.mine() && inc.status === "claimed") actions.push(button("release-button", "detail.release", "release"));
    if (ready && this.mine() && ["claimed", "in_progress"].includes(inc.status)) actions.push(button("call-button", "detail.call", "call"));
    if (ready && inc.status === "resolved") actions.push(button("reopen-button", "detail.reopen", "reopen"));
    this.parts.head.replaceChildren(
      h("div", { class: "head-text" },
        h("h2", { id: "detail-title" },
          h("span", { class: ["prio", priorityClass(inc)] }, `P${inc.priority ?? "?"}`),
          " ", label("kind", inc.kind), h("span", { class: "muted small" }, ` #${inc.id}`)),
        h("p", { class: "subtitle" }, title || t("none")),
        h("p", { class: "status-line" }, status, badges(inc)),
        h("p", { class: "muted small" }, t("detail.opened", { time: formatTime(inc.opened_at) }),
          inc.dispatched_to ? ` · ${t("detail.dispatchedTo", { who: label("responder", inc.dispatched_to) })}` : ""),
        familyGoing(inc)),
      h("div", { class: "head-actions" }, actions,
        this.error ? h("p", { id: "ack-error", class: "error", role: "alert" }, this.error) : null));
    if (hadFocus) (document.getElementById(hadFocus) ?? this.root).focus({ preventScroll: true });
  }

  // The work area: built once, then only shown, hidden and enabled by syncWork().
  renderWork() {
    const select = (id, values, group) => h("select", { id }, values.map((v) => h("option", { value: v }, label(group, v))));
    const w = {
      responder: select("dispatch-responder", RESPONDERS, "responder"),
      outcome: select("resolve-outcome", OUTCOMES, "outcome"),
      note: h("textarea", { id: "note-text", rows: 2, maxlength: 2000 }),
    };
    w.dispatch = h("button", { type: "button", id: "dispatch-button", onclick: () => this.step("dispatch", { responder: w.responder.value }) }, t("work.dispatch"));
    w.onSite = h("button", { type: "button", id: "onsite-button", onclick: () => this.step("on_site") }, t("work.onSite"));
    w.resolve = h("button", { type: "button", id: "resolve-button", class: "primary", onclick: () => this.step("resolve", { outcome: w.outcome.value }) }, t("work.resolve"));
    w.addNote = h("button", { type: "button", id: "note-button", onclick: () => this.addNote() }, t("work.addNote"));
    // The outcome of an inactivity alarm, a fall or an SOS call teaches the inactivity detector
    // (docs/detectors.md, "What an operator's outcome takes back"): say so where the operator
    // chooses it.
    w.outcomeHint = h("p", { id: "outcome-hint", class: "muted small", hidden: true });
    w.steps = h("div", { class: "work-steps" },
      h("div", { class: "work-row" }, h("label", { for: "dispatch-responder" }, t("work.responder")), w.responder, w.dispatch, w.onSite),
      h("div", { class: "work-row" }, h("label", { for: "resolve-outcome" }, t("work.outcome")), w.outcome, w.resolve),
      w.outcomeHint);
    w.notes = h("div", { class: "work-row notes" }, h("label", { for: "note-text" }, t("work.note")), w.note, w.addNote);
    this.work = w;
    this.parts.work.replaceChildren(w.steps, w.notes);
    this.syncWork();
  }

  syncWork() {
    const w = this.work;
    if (!w) return;
    const inc = this.incident;
    const mine = this.mine();
    w.steps.hidden = !mine;
    w.dispatch.disabled = this.busy || !mine;
    w.onSite.disabled = this.busy || inc.status !== "dispatched";
    w.resolve.disabled = this.busy || !ACTIVE.includes(inc.status);
    w.addNote.disabled = this.busy;
    const kinds = [inc.kind, ...(this.data?.detail?.alarms ?? []).map((a) => a.kind)];
    const taught = kinds.includes("inactivity") ? "inactivity"
      : kinds.some((k) => k === "fall" || k === "sos") ? "call" : null;
    w.outcomeHint.hidden = taught === null;
    if (taught) w.outcomeHint.textContent = t(`work.outcomeHint.${taught}`);
  }

  renderBody() {
    const { detail, alarmDetail } = this.data;
    const a = alarmDetail;
    this.parts.timeline = cards.timelineCard(detail?.timeline);
    this.parts.alarms = cards.alarmsCard(detail?.alarms, detail?.alarm_ids);
    this.parts.resident = cards.residentCard(a?.resident, a?.site, a?.room);
    this.parts.devices = cards.devicesCard(a?.device ? [a.device] : []);
    this.parts.vitals = cards.section("section.vitals", cards.muted("detail.loading"));
    this.parts.map = cards.section("section.map", cards.muted("detail.loading"));
    this.parts.stayHere = h("div", { class: "stay-here-slot" }); // filled while a wandering is open
    this.stayHere = null;
    const haveResident = Boolean(this.incident.resident_id);
    // fill, not replaceChildren: the DOM's own writes a card left out (null) as the text
    // "null", which every incident about no one elder showed three times (a care home's
    // devices silent, a community's outage) until 2026-12-08
    fill(this.parts.body,
      this.parts.resident,
      cards.contactsCard(a?.contacts),
      this.parts.timeline,
      a?.alarm ? cards.alarmCard(a.alarm, a.snippet) : null,
      this.parts.alarms,
      this.parts.devices,
      haveResident ? this.parts.vitals : null,
      haveResident ? this.parts.map : null,
      haveResident ? this.parts.stayHere : null,
      cards.eventsCard(a?.recent_events));
  }

  // The resident's record, vitals and locations come from routes an older server lacks; each
  // card says "not available" on its own rather than failing the panel.
  async loadExtras(token) {
    const rid = this.incident.resident_id;
    if (!rid) return;
    const base = `/api/v1/residents/${encodeURIComponent(rid)}`;
    const swap = (name, node) => {
      if (token !== this.token) return;
      this.parts[name].replaceWith(node);
      this.parts[name] = node;
    };
    const guard = (p) => p.catch((err) => (err.status === 401 ? this.onUnauthorized() : null));
    const [record, vitals, places, status] = await Promise.all([
      guard(optional(base)), guard(optional(`${base}/vitals?hours=${HOURS}`)), guard(optional(`${base}/locations?hours=${HOURS}`)),
      guard(optional(`${base}/status`)),
    ]);
    if (record?.resident) {
      const a = this.data.alarmDetail;
      swap("resident", cards.residentCard(record.resident, a?.site, a?.room,
        status?.movement_seen === false ? false : status?.inactivity ?? null));
      swap("devices", cards.devicesCard(record.devices));
    }
    const pts = vitals?.points ?? [];
    swap("vitals", cards.section("section.vitals", pts.length > 1 ? vitalsCanvas(pts) : cards.muted(vitals ? "vitals.none" : "detail.unavailable")));
    this.swapMap(token, places);
    this.follow(token, FOLLOW_MS);
  }

  // Start reading the map again every FOLLOW_MS while a wandering is open in the panel, unless
  // that is already under way for this incident (one loop per panel, however often asked).
  follow(token, delay) {
    if (this.following === token || !this.wandering()) return;
    this.following = token;
    setTimeout(() => this.followMap(token), delay);
  }

  swapMap(token, places) {
    if (token !== this.token) return;
    const fixes = places?.points ?? [];
    const last = fixes.length ? fixes.reduce((a, b) => (a.ts > b.ts ? a : b)) : null;
    const node = cards.section("section.map",
      fixes.length || places?.home ? mapCanvas(places) : cards.muted(places ? "map.none" : "detail.unavailable"),
      this.wandering() && last
        ? h("p", { class: "muted map-followed" }, t("map.followed", { time: formatTime(last.ts) })) : null);
    this.parts.map.replaceWith(node);
    this.parts.map = node;
    this.showStayHere(token, last);
  }

  // While a wandering is open: record a stay where the latest position is (views/stays.js),
  // the form built once and kept as the map is read again.
  showStayHere(token, last) {
    if (token !== this.token || !this.wandering() || !this.parts.stayHere) return;
    if (!this.stayHere) {
      const rid = this.incident.resident_id;
      this.stayHere = stayHereForm(rid, () => this.lastFix, () => this.loadExtras(token), () => this.onUnauthorized());
      this.parts.stayHere.replaceChildren(this.stayHere.el);
    }
    this.lastFix = last;
    this.stayHere.show(last);
  }

  wandering() {
    const inc = this.incident;
    if (!inc || inc.status === "resolved") return false;
    return inc.kind === "wandering" || (this.data?.detail?.alarms ?? []).some((a) => a.kind === "wandering");
  }

  // Read the wanderer's positions again while the same incident stays open here.
  async followMap(token) {
    if (token !== this.token || !this.wandering()) {
      if (this.following === token) this.following = null; // resolved: a later wandering starts again
      return;
    }
    const rid = this.incident.resident_id;
    try {
      this.swapMap(token, await optional(`/api/v1/residents/${encodeURIComponent(rid)}/locations?hours=${HOURS}`));
    } catch (err) {
      if (err.status === 401) return this.onUnauthorized(); // signed out: stop following
      // a failed read keeps the map as it was; the next one may do better
    }
    if (token === this.token) setTimeout(() => this.followMap(token), FOLLOW_MS);
    else if (this.following === token) this.following = null;
  }

  async step(action, body = {}) {
    const id = this.incident?.id;
    if (!id || this.busy) return;
    this.busy = true;
    this.error = null;
    this.renderHead(Boolean(this.data));
    this.syncWork();
    const note = this.work?.note.value.trim();
    try {
      // A note typed before pressing a step button travels with that step into the timeline.
      const data = await api("POST", `/api/v1/incidents/${id}/${action}`, note && action !== "claim" ? { ...body, note } : body);
      if (note && action !== "claim") this.work.note.value = "";
      if (data?.incident) this.onChange(data.incident);
    } catch (err) {
      if (err.status === 401) return this.onUnauthorized();
      if (this.incident?.id === id) this.error = errorText(err);
      if (err.status === 409) this.refreshIncident(id);
    } finally {
      this.busy = false;
      if (this.incident?.id === id) {
        this.renderHead(Boolean(this.data));
        this.syncWork();
      }
    }
  }

  async addNote() {
    const text = this.work.note.value.trim();
    if (!text || this.busy) return;
    this.busy = true;
    this.syncWork();
    try {
      const data = await api("POST", `/api/v1/incidents/${this.incident.id}/note`, { note: text });
      this.work.note.value = "";
      this.error = null;
      if (data?.incident) this.onChange(data.incident);
      this.refreshTimeline();
    } catch (err) {
      if (err.status === 401) return this.onUnauthorized();
      this.error = errorText(err);
    } finally {
      this.busy = false;
      this.renderHead(true);
      this.syncWork();
    }
  }

  // After a 409 a colleague holds it: fetch it so the head shows who.
  async refreshIncident(id) {
    try {
      const data = await api("GET", `/api/v1/incidents/${id}`);
      if (data?.incident) this.onChange(data.incident);
    } catch {
      // the socket will bring the new state anyway
    }
  }
}

export function errorText(err) {
  if (err.status === 0) return t("err.network");
  return err.detail || t("err.generic", { status: err.status });
}
