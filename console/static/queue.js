// The operator's list of alarms: rows are keyed by alarm id and moved, not rebuilt, when the
// order changes, so a new alarm arriving does not reset focus, selection or scroll position.
import { h } from "./dom.js";
import { t, label } from "./i18n.js";
import { formatAge, formatTime, now, parseTime } from "./clock.js";

// The thresholds the centre works to: amber after a minute, red after three minutes, which is
// when the supervisor steps in (see DESIGN.md, the operator's story). The classes accumulate
// (a 200 s old row has both) so a rule or test for "over a minute" stays true; the CSS lets
// the red one win.
const OVERDUE = [
  { afterMs: 60_000, cls: "overdue-60" },
  { afterMs: 180_000, cls: "overdue-180" },
];
const FRESH_MS = 4000; // how long a newly arrived row stays highlighted

export function isWaiting(alarm) {
  return alarm.status === "new";
}

// Priority 1 first, then whoever has waited longest; the id breaks exact ties so the order is
// stable between renders.
export function byUrgency(a, b) {
  return (
    (a.priority ?? 9) - (b.priority ?? 9) ||
    (parseTime(a.raised_at) ?? 0) - (parseTime(b.raised_at) ?? 0) ||
    a.id - b.id
  );
}

function priorityClass(alarm) {
  const p = Number(alarm.priority);
  return `p${p >= 1 && p <= 4 ? p : 4}`;
}

function place(alarm) {
  const room = alarm.room_name ? t("row.room", { room: alarm.room_name }) : null;
  return [alarm.site_name, room].filter(Boolean).join(" · ") || alarm.site_id || t("none");
}

function statusLine(alarm) {
  if (isWaiting(alarm)) return "";
  return t("row.ackedBy", { who: alarm.acknowledged_by ?? t("none"), time: formatTime(alarm.acknowledged_at) });
}

// Three lines, each with the most important thing on the left and a time on the right:
// kind | raised at, resident | waiting, site (+ cancelled badge). Lines, not columns, so the
// kind gets the whole width of a narrow tablet row.
function rowContent(alarm) {
  const cancelled = alarm.details?.cancelled_at;
  return [
    h("span", { class: ["prio", priorityClass(alarm)] }, `P${alarm.priority ?? "?"}`),
    h("span", { class: "main" },
      h("span", { class: "line" },
        h("span", { class: "kind" }, label("kind", alarm.kind)),
        h("time", { class: "raised", datetime: alarm.raised_at }, formatTime(alarm.raised_at))),
      h("span", { class: "line" },
        h("span", { class: "resident" }, alarm.resident_name || t("row.noResident")),
        h("span", { class: "age" }, isWaiting(alarm) ? "" : statusLine(alarm))),
      // The site may be cut short on a narrow row (it is in the detail panel), the badge not.
      h("span", { class: "line" },
        h("span", { class: "where" }, place(alarm)),
        cancelled ? h("span", { class: "cancelled-badge" }, t("row.cancelled")) : null)),
  ];
}

export class QueueView {
  constructor({ waitingList, ackedList, onOpen }) {
    this.lists = { waiting: waitingList, acked: ackedList };
    this.onOpen = onOpen;
    this.rows = new Map(); // id -> { li, button, age, key }
  }

  // Build or refresh one row. The key captures everything the row shows, so an unchanged alarm
  // keeps its DOM node untouched (its focus, its highlight animation).
  row(alarm) {
    // The day is in the key too: after midnight yesterday's times must gain their date.
    const key = JSON.stringify([alarm, document.documentElement.lang, new Date(now()).toDateString()]);
    let row = this.rows.get(alarm.id);
    if (!row) {
      const button = h("button", { type: "button", class: "row" });
      button.addEventListener("click", () => this.onOpen(alarm.id));
      const li = h("li", { class: "alarm", dataset: { alarmId: alarm.id } }, button);
      row = { li, button, age: null, key: null, raisedMs: null, waiting: false };
      this.rows.set(alarm.id, row);
    }
    if (row.key !== key) {
      row.button.replaceChildren(...rowContent(alarm));
      row.age = row.button.querySelector(".age");
      row.raisedMs = parseTime(alarm.raised_at);
      row.waiting = isWaiting(alarm);
      row.key = key;
      row.li.classList.remove("p1", "p2", "p3", "p4");
      row.li.classList.add(priorityClass(alarm));
      row.li.classList.toggle("acknowledged", !row.waiting);
      if (!row.waiting) row.li.classList.remove("overdue-60", "overdue-180");
    }
    return row;
  }

  render(waiting, acked, { selectedId, openId }) {
    const seen = new Set();
    for (const [name, alarms] of [["waiting", waiting], ["acked", acked]]) {
      const list = this.lists[name];
      // Walk the desired order and move nodes only where they differ: appending every node
      // would be simpler but makes the browser re-lay out the whole list on each message.
      let cursor = list.firstElementChild;
      for (const alarm of alarms) {
        const row = this.row(alarm);
        seen.add(alarm.id);
        row.li.classList.toggle("selected", alarm.id === selectedId);
        row.li.classList.toggle("open", alarm.id === openId);
        row.button.setAttribute("aria-current", alarm.id === openId ? "true" : "false");
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
      if (!row.waiting || row.raisedMs === null) continue;
      const waited = at - row.raisedMs;
      row.age.textContent = t("row.waiting", { age: formatAge(waited) });
      for (const o of OVERDUE) row.li.classList.toggle(o.cls, waited >= o.afterMs);
    }
  }
}
