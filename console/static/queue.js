// The operator's lists of incidents: rows are keyed by incident id and moved, not rebuilt, when
// the order changes, so a new incident arriving does not reset focus, selection or scroll.
// Rows keep the class "alarm" and a data-alarm-id (the incident's first alarm) beside
// data-incident-id: the queue used to list alarms, and tools and tests written then still work.
import { h } from "./dom.js";
import { t, label } from "./i18n.js";
import { formatAge, formatTime, now, parseTime } from "./clock.js";
import { LATE_S } from "./detail.js";

// The thresholds the centre works to: amber after a minute, red after three minutes, which is
// when the supervisor steps in (see DESIGN.md, the operator's story). The classes accumulate
// (a 200 s old row has both) so a rule or test for "over a minute" stays true; the CSS lets
// the red one win.
const OVERDUE = [
  { afterMs: 60_000, cls: "overdue-60" },
  { afterMs: 180_000, cls: "overdue-180" },
];
const FRESH_MS = 4000; // how long a newly arrived row stays highlighted

// When the centre's answer targets started for an incident (alerts/escalation.py centre_from):
// its opening, or when a family-first window ended; null while it is still the family's.
export function centreSince(incident) {
  if (incident.centre_from) return parseTime(incident.centre_from);
  return incident.route === "family_first" ? null : parseTime(incident.opened_at);
}

export function isWaiting(incident) {
  return incident.status === "new";
}

// Priority 1 first, then whoever has waited longest; the id breaks exact ties so the order is
// stable between renders.
export function byUrgency(a, b) {
  return (
    (a.priority ?? 9) - (b.priority ?? 9) ||
    (parseTime(a.opened_at) ?? 0) - (parseTime(b.opened_at) ?? 0) ||
    a.id - b.id
  );
}

export function priorityClass(incident) {
  const p = Number(incident.priority);
  return `p${p >= 1 && p <= 4 ? p : 4}`;
}

// Where to go, as staff say it: the home, its floor and, when the incident knows it, the room.
export function place(incident) {
  // a community's outage is about many homes: where is the community, not the first home
  if (incident.kind === "area_outage" && incident.site_community) return incident.site_community;
  const floor = incident.floor !== null && incident.floor !== undefined ? t("location.floor", { floor: incident.floor }) : null;
  const room = incident.room_name ? t("row.room", { room: incident.room_name }) : null;
  return [incident.site_name, floor, room].filter(Boolean).join(" · ") || incident.site_id || t("none");
}

// The badges that must never be cut off a row: help that did not arrive, a supervisor alerted.
export function badges(incident) {
  return [
    incident.help_missing ? h("span", { class: "badge help-missing" }, t("badge.helpMissing")) : null,
    Number(incident.escalation_level) >= 1 ? h("span", { class: "badge escalated" }, t("badge.escalated")) : null,
    incident.route === "family_first" && isWaiting(incident) ? h("span", { class: "badge family" }, t("badge.familyFirst")) : null,
    // a press that reached the centre long after it was made (store/incidents.py late_s): the
    // row's time is when it arrived, not when the elder pressed
    Number(incident.late_s) >= LATE_S
      ? h("span", { class: "badge late" }, t("badge.late", { minutes: Math.round(Number(incident.late_s) / 60) }))
      : null,
    // an elder's welfare check that is part of a community's outage (store/incidents.py
    // area_outage): fifty such rows at 02:00 are one cause, and the operator sees it at once
    incident.area_outage && incident.kind !== "area_outage"
      ? h("span", { class: "badge area" }, t("badge.areaOutage", { community: incident.area_outage }))
      : null,
  ];
}

// Who has an incident in hand, when it is not the viewer: a colleague, or the family member
// who said they are going.
export function holder(incident, me) {
  if (!incident.claimed_by || incident.claimed_by === me) return "";
  return incident.dispatched_to === "family"
    ? t("row.familyHolds", { who: incident.family_holder || incident.claimed_by })
    : t("row.heldBy", { who: incident.claimed_by });
}

// Three lines, each with the most important thing on the left and a time on the right:
// kind (+ alarm count) | opened at, resident | waiting or status, site (+ badges).
function rowContent(incident, me) {
  const count = Number(incident.alarm_count) > 1 ? ` ×${incident.alarm_count}` : "";
  const right = isWaiting(incident) ? "" : [label("status", incident.status), holder(incident, me)]
    .filter(Boolean).join(" · ");
  return [
    h("span", { class: ["prio", priorityClass(incident)] }, `P${incident.priority ?? "?"}`),
    h("span", { class: "main" },
      h("span", { class: "line" },
        h("span", { class: "kind" }, label("kind", incident.kind), count),
        h("time", { class: "raised", datetime: incident.opened_at }, formatTime(incident.opened_at))),
      h("span", { class: "line" },
        h("span", { class: "resident" }, incident.resident_name
          || t(incident.kind === "area_outage" ? "row.areaHomes" : "row.noResident")),
        h("span", { class: "age" }, right)),
      h("span", { class: "line" },
        h("span", { class: "where" }, place(incident)),
        h("span", { class: "badges" }, badges(incident)))),
  ];
}

export class QueueView {
  // lists: { name: <ol> }; render() gets the incidents for each list by the same names.
  constructor({ lists, onOpen, me = null }) {
    this.lists = lists;
    this.me = me;
    this.onOpen = onOpen;
    this.rows = new Map(); // id -> { li, button, age, key, openedMs, waiting }
  }

  // Build or refresh one row. The key captures everything the row shows, so an unchanged
  // incident keeps its DOM node untouched (its focus, its highlight animation).
  row(incident) {
    // The day is in the key too: after midnight yesterday's times must gain their date.
    const key = JSON.stringify([incident, document.documentElement.lang, new Date(now()).toDateString()]);
    let row = this.rows.get(incident.id);
    if (!row) {
      const button = h("button", { type: "button", class: "row" });
      button.addEventListener("click", () => this.onOpen(incident.id));
      const li = h("li", { class: "alarm incident", dataset: { incidentId: incident.id } }, button);
      row = { li, button, age: null, key: null, openedMs: null, centreMs: null, waiting: false };
      this.rows.set(incident.id, row);
    }
    if (row.key !== key) {
      row.button.replaceChildren(...rowContent(incident, this.me));
      row.age = row.button.querySelector(".age");
      row.openedMs = parseTime(incident.opened_at);
      // the answer targets run from when it reached the centre, whatever the elder's wait
      row.centreMs = centreSince(incident);
      row.waiting = isWaiting(incident);
      row.key = key;
      if (incident.first_alarm_id) row.li.dataset.alarmId = incident.first_alarm_id;
      row.li.classList.remove("p1", "p2", "p3", "p4");
      row.li.classList.add(priorityClass(incident));
      row.li.classList.toggle("held", !row.waiting);
      row.li.classList.toggle("help-missing", Boolean(incident.help_missing));
      if (!row.waiting) row.li.classList.remove("overdue-60", "overdue-180");
    }
    return row;
  }

  render(byList, { selectedId, openId }) {
    const seen = new Set();
    for (const [name, incidents] of Object.entries(byList)) {
      const list = this.lists[name];
      // Walk the desired order and move nodes only where they differ: appending every node
      // would be simpler but makes the browser re-lay out the whole list on each message.
      let cursor = list.firstElementChild;
      for (const incident of incidents) {
        const row = this.row(incident);
        seen.add(incident.id);
        row.li.classList.toggle("selected", incident.id === selectedId);
        row.li.classList.toggle("open", incident.id === openId);
        row.button.setAttribute("aria-current", incident.id === openId ? "true" : "false");
        if (row.li === cursor) cursor = cursor.nextElementSibling;
        else list.insertBefore(row.li, cursor);
      }
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.li.remove();
        this.rows.delete(id);
      }
    }
    this.tick();
  }

  // The alarm id learnt later (from the alarm feed or the detail) for a server without
  // first_alarm_id on incidents.
  setAlarmId(id, alarmId) {
    const row = this.rows.get(id);
    if (row && !row.li.dataset.alarmId) row.li.dataset.alarmId = alarmId;
  }

  flash(id) {
    const row = this.rows.get(id);
    if (!row) return;
    row.li.classList.add("fresh");
    setTimeout(() => row.li.classList.remove("fresh"), FRESH_MS);
  }

  focus(id) {
    const row = this.rows.get(id);
    if (!row) return;
    row.button.focus({ preventScroll: true });
    row.li.scrollIntoView({ block: "nearest" });
  }

  // Called every second: only the age text and the overdue classes change, nothing is rebuilt.
  tick() {
    const at = now();
    for (const row of this.rows.values()) {
      if (!row.waiting || row.openedMs === null) continue;
      const waited = at - row.openedMs;
      row.age.textContent = t("row.waiting", { age: formatAge(waited) });
      for (const o of OVERDUE) row.li.classList.toggle(o.cls, row.centreMs !== null && at - row.centreMs >= o.afterMs);
    }
  }
}
