// The care home on a tablet: each floor as a grid of room tiles (detector states, residents),
// the home's open incidents with "acknowledge" and "on site", and the maintenance list. A smoke
// incident for this home reloads the floors at once, so the tile turns red within a second; a
// resident's own call (a button, a fall, a silence) marks their room's tile with what it is and
// who, and the incident names the room, so staff know which door to go to at a glance.
import { api, optional } from "../api.js";
import { h } from "../dom.js";
import { t, label } from "../i18n.js";
import { formatAge, formatTime, now, parseTime } from "../clock.js";
import { badges, byUrgency, priorityClass } from "../queue.js";
import { OUTCOMES, errorText } from "../panel.js";
import { muted } from "../detail.js";

const REFRESH_MS = 30_000; // detector faults and battery are not pushed; a slow poll catches them
// Worst state first: a tile shows the most urgent of its detectors.
const STATES = ["smoke", "fault", "test", "clear"];
const ACTIVE = ["claimed", "in_progress", "dispatched", "on_site"];

// A smoke detector's buzzer can be silenced from the page (issue 7 commands); the answer, or
// "no answer within a minute", shows next to the button.
const OPEN_COMMAND = ["pending", "published", "sent"];
const commandState = new Map(); // device id -> latest command status

async function silence(deviceId, redraw) {
  commandState.set(deviceId, "pending");
  redraw();
  try {
    const { command } = await api("POST", `/api/v1/devices/${deviceId}/commands`, { command: "silence" });
    for (let i = 0; i < 70 && OPEN_COMMAND.includes(commandState.get(deviceId)); i++) {
      const latest = (await api("GET", `/api/v1/commands/${command.id}`)).command;
      commandState.set(deviceId, latest.status);
      redraw();
      if (!OPEN_COMMAND.includes(latest.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (err) {
    commandState.set(deviceId, "failed");
    redraw();
  }
}

function silenceControl(d, redraw) {
  if (d.state !== "smoke") return null;
  const status = commandState.get(d.id);
  return h("span", { class: "silence" },
    h("button", { type: "button", class: "small", dataset: { silence: d.id },
      disabled: status !== undefined && OPEN_COMMAND.includes(status),
      onclick: () => silence(d.id, redraw) }, t("care.silence")),
    status ? h("span", { class: ["command-status", status] }, ` ${t(`command.${status}`)}`) : null);
}

// How wrong a device's clock is, learnt from its readings (alerts/maintenance.py's offset_s:
// positive, its clock is behind): "9876 d slow", "2 h fast", in the viewer's language.
function clockOffset(seconds) {
  const s = Math.abs(seconds);
  const amount = s >= 2 * 86400 ? `${Math.round(s / 86400)} d` : s >= 2 * 3600 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 60)} min`;
  return t(seconds > 0 ? "care.clockSlow" : "care.clockFast", { amount });
}

// The open incidents of the room's residents, most urgent first (maintenance is listed apart).
function callsIn(room, incidents) {
  const here = new Set((room.residents ?? []).map((r) => r.id));
  return incidents.filter((i) => i.route !== "maintenance" && i.status !== "resolved" && here.has(i.resident_id))
    .sort(byUrgency);
}

function tile(room, redraw = () => {}, incidents = []) {
  const detectors = room.detectors ?? [];
  const worst = STATES.find((s) => detectors.some((d) => d.state === s)) ?? "clear";
  const offline = detectors.some((d) => d.online === false);
  const calls = callsIn(room, incidents);
  return h("li", { class: ["room-tile", worst, ...(calls.length ? ["call", priorityClass(calls[0])] : []), offline ? "offline-dev" : null],
    dataset: { roomId: room.id } },
    h("span", { class: "room-name" }, room.name),
    calls.length ? h("ul", { class: "room-calls" }, calls.map((i) =>
      h("li", { class: "room-call", dataset: { incidentId: i.id } },
        h("strong", null, label("kind", i.kind)), ` ${i.resident_name ?? ""}`))) : null,
    h("ul", { class: "detectors" }, detectors.map((d) =>
      h("li", { class: ["detector", d.state], dataset: { deviceId: d.id } },
        label("detector", d.state),
        d.battery !== null && d.battery !== undefined && d.battery <= 20 ? h("span", { class: "low" }, ` ${d.battery}%`) : null,
        d.online === false ? h("span", { class: "low" }, ` ${t("device.isOffline")}`) : null,
        silenceControl(d, redraw)))),
    h("span", { class: "room-residents" }, (room.residents ?? []).map((r) => r.name).join("、") || t("care.emptyRoom")));
}

export function mountCareHome(ctx) {
  const root = ctx.root;
  const me = ctx.user;
  let siteId = me.scope_site ?? me.site_id ?? null;
  let stopped = false;
  const incidents = new Map();
  // floor -> names of rooms whose detector reads smoke, so a smoke incident (which knows only
  // its floor) can say "room 203" in the list, as staff would say it.
  let smokeRooms = new Map();
  const busy = new Set();
  const errors = new Map();
  const chosen = new Map(); // incident id -> outcome picked but not yet sent
  const els = {
    title: h("h2", { id: "care-heading" }, t("care.heading")),
    floors: h("div", { class: "floors", id: "floors" }, muted("detail.loading")),
    incidents: h("div", { id: "care-incidents" }),
    maintenance: h("div", { id: "maintenance" }, muted("detail.loading")),
  };
  root.replaceChildren(h("section", { class: "page carehome", "aria-labelledby": "care-heading" },
    h("div", { class: "page-head" }, els.title),
    h("div", { class: "care-grid" },
      h("section", { class: "card floors-card" }, h("h3", null, t("care.floors")), els.floors),
      h("div", { class: "care-side" },
        h("section", { class: "card" }, h("h3", null, t("care.incidents")), els.incidents),
        h("section", { class: "card" }, h("h3", null, t("care.maintenance")), els.maintenance)))));

  // The server's /me may not name the home; the residents list (or an incident) does.
  async function findSite() {
    if (siteId) return siteId;
    const mine = await optional("/api/v1/me/residents");
    siteId = mine?.residents?.[0]?.site_id ?? [...incidents.values()][0]?.site_id ?? null;
    return siteId;
  }

  let lastFloors = [];
  // Redrawn from the last answer when only a command's status changed (no round trip).
  function drawFloors() {
    els.floors.replaceChildren(...lastFloors.map((f) =>
      h("section", { class: "floor", dataset: { floor: f.floor } },
        h("h4", null, t("location.floor", { floor: f.floor })),
        h("ol", { class: "room-grid" }, (f.rooms ?? []).map((room) => tile(room, drawFloors, [...incidents.values()]))))));
  }

  async function loadFloors() {
    if (!(await findSite())) {
      els.floors.replaceChildren(muted("care.noSite"));
      return;
    }
    try {
      const data = await optional(`/api/v1/sites/${encodeURIComponent(siteId)}/floors`);
      if (stopped) return;
      if (!data) return els.floors.replaceChildren(muted("detail.unavailable"));
      if (data.site?.name) els.title.textContent = `${t("care.heading")} · ${data.site.name}`;
      smokeRooms = new Map((data.floors ?? []).map((f) => [f.floor,
        (f.rooms ?? []).filter((r) => (r.detectors ?? []).some((d) => d.state === "smoke")).map((r) => r.name)]));
      renderIncidents();
      lastFloors = data.floors ?? [];
      drawFloors();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      els.floors.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  }

  async function loadMaintenance() {
    if (!siteId) return;
    try {
      const data = await optional(`/api/v1/sites/${encodeURIComponent(siteId)}/maintenance`);
      if (stopped) return;
      const items = data?.items ?? [];
      if (!data) return els.maintenance.replaceChildren(muted("detail.unavailable"));
      if (items.length === 0) return els.maintenance.replaceChildren(muted("care.noMaintenance"));
      els.maintenance.replaceChildren(h("table", { class: "grid-table" },
        h("thead", null, h("tr", null, ["device.id", "location.room", "care.problem", "care.since"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", null, items.map((i) => h("tr", { dataset: { deviceId: i.device_id } },
          h("td", null, i.device_id, h("span", { class: "muted small" }, ` ${label("device", i.kind)}`)),
          h("td", null, i.room_name ?? t("none")),
          h("td", null, label("problem", i.problem), i.detail ? h("span", { class: "muted small" }, ` ${i.detail}`) : null,
            Number.isFinite(i.offset_s) ? h("span", { class: "muted small clock-offset" }, ` ${clockOffset(i.offset_s)}`) : null),
          h("td", null, i.since ? formatTime(i.since) : t("none")))))));
    } catch (err) {
      if (err.status === 401) ctx.signedOut();
    }
  }

  async function step(inc, actions, body = {}) {
    busy.add(inc.id);
    errors.delete(inc.id);
    renderIncidents();
    try {
      for (const action of actions) {
        const data = await api("POST", `/api/v1/incidents/${inc.id}/${action}`, action === "dispatch" ? { responder: "care_staff" } : body);
        if (data?.incident) incidents.set(inc.id, data.incident);
      }
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      errors.set(inc.id, errorText(err));
    } finally {
      busy.delete(inc.id);
      renderIncidents();
      loadFloors();
    }
  }

  // Staff on the floor: "acknowledge" claims it (the centre sees someone has it); "on site"
  // records arrival, which the lifecycle reaches through a dispatch to care staff.
  function onSite(inc) {
    const path = inc.status === "new" ? ["claim", "dispatch", "on_site"]
      : inc.status === "dispatched" ? ["on_site"] : ["dispatch", "on_site"];
    step(inc, path);
  }

  function incidentItem(inc) {
    const isBusy = busy.has(inc.id);
    const holder = inc.claimed_by === me.username;
    // The list is redrawn on every change in the home; the chosen outcome must survive that.
    const outcome = h("select", { "aria-label": t("work.outcome"), onchange: (e) => chosen.set(inc.id, e.target.value) },
      OUTCOMES.map((o) => h("option", { value: o, selected: chosen.get(inc.id) === o }, label("outcome", o))));
    const waited = now() - (parseTime(inc.opened_at) ?? now());
    return h("li", { class: ["care-incident", priorityClass(inc), inc.kind === "smoke" ? "smoke" : null], dataset: { incidentId: inc.id } },
      h("div", { class: "line" },
        h("strong", null, label("kind", inc.kind)),
        h("span", null, inc.floor !== null && inc.floor !== undefined ? t("location.floor", { floor: inc.floor }) : ""),
        inc.kind === "smoke" && smokeRooms.get(inc.floor)?.length
          ? h("strong", { class: "smoke-rooms" }, smokeRooms.get(inc.floor).map((r) => t("row.room", { room: r })).join("、"))
          : inc.room_name ? h("strong", { class: "incident-room" }, t("row.room", { room: inc.room_name })) : null,
        h("span", { class: "muted" }, inc.resident_name ?? ""),
        h("span", { class: "num care-age", dataset: { opened: inc.opened_at } }, formatAge(waited))),
      h("div", { class: "line" }, h("span", { class: "status" }, label("status", inc.status)),
        inc.claimed_by ? h("span", { class: "muted" }, t("detail.heldBy", { who: inc.claimed_by })) : null, badges(inc)),
      h("div", { class: "care-actions" },
        inc.status === "new" ? h("button", { type: "button", class: "primary ack-onsite", disabled: isBusy, onclick: () => step(inc, ["claim"]) }, t("care.acknowledge")) : null,
        (inc.status === "new" || (holder && inc.status !== "on_site")) ? h("button", { type: "button", class: "onsite", disabled: isBusy, onclick: () => onSite(inc) }, t("care.onSite")) : null,
        holder && ACTIVE.includes(inc.status) ? [outcome, h("button", { type: "button", class: "resolve", disabled: isBusy, onclick: () => step(inc, ["resolve"], { outcome: outcome.value }) }, t("work.resolve"))] : null),
      errors.has(inc.id) ? h("p", { class: "error", role: "alert" }, errors.get(inc.id)) : null);
  }

  function renderIncidents() {
    const list = [...incidents.values()].filter((i) => i.status !== "resolved").sort(byUrgency);
    ctx.setWaiting(list.filter((i) => i.status === "new").length);
    els.incidents.replaceChildren(list.length ? h("ol", { class: "care-incidents" }, list.map(incidentItem)) : muted("care.noIncidents"));
    drawFloors(); // the tiles of the rooms whose residents called
  }

  async function snapshot(alarms, list) {
    let rows = list;
    if (rows === null) {
      try {
        rows = (await api("GET", "/api/v1/incidents?status=open")).incidents ?? [];
      } catch (err) {
        if (err.status === 401) ctx.signedOut();
        return;
      }
    }
    incidents.clear();
    for (const i of rows) incidents.set(i.id, i);
    renderIncidents();
    loadFloors();
    loadMaintenance();
  }

  function onIncident(inc) {
    if (siteId && inc.site_id !== siteId) return;
    if (inc.status === "resolved") incidents.delete(inc.id);
    else incidents.set(inc.id, inc);
    renderIncidents();
    // Smoke (and any detector story) changes the floor plan: reload now, not on the next poll.
    loadFloors();
  }

  const timer = setInterval(() => {
    loadFloors();
    loadMaintenance();
  }, REFRESH_MS);
  renderIncidents();
  return {
    onSnapshot: snapshot,
    onIncident,
    poll: () => snapshot([], null),
    // Only the ages tick; the buttons are left alone under the staff member's finger.
    tick: () => {
      for (const el of els.incidents.querySelectorAll(".care-age")) {
        el.textContent = formatAge(now() - (parseTime(el.dataset.opened) ?? now()));
      }
    },
    unmount: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
