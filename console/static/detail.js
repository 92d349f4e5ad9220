// The detail panel: everything the operator needs on one screen to call back and dispatch
// help — who, where, their health, whom to call, what the device said.
import { h, telLink } from "./dom.js";
import { t, label, lang } from "./i18n.js";
import { formatTime, now } from "./clock.js";
import { magnitudeCanvas } from "./chart.js";
import { isWaiting } from "./queue.js";

// Detail keys that get their own labelled line; anything else the server adds is still listed
// under its raw key, so no information is silently hidden from the operator.
const KNOWN_DETAILS = [
  { key: "peak_g", label: "alarm.peakG", format: (v) => `${Number(v).toFixed(2)} g` },
  { key: "confidence", label: "alarm.confidence", format: (v) => (v <= 1 ? `${Math.round(v * 100)} %` : `${v}`) },
  { key: "cancelled_at", label: "alarm.cancelledAt", format: formatTime },
];

function field(name, ...value) {
  const shown = value.filter((v) => v !== null && v !== undefined && v !== "");
  return [h("dt", null, name), h("dd", null, shown.length ? shown : t("none"))];
}

function list(values) {
  if (!Array.isArray(values) || values.length === 0) return t("none");
  return values.join(lang() === "zh-CN" ? "、" : ", ");
}

function section(titleKey, ...body) {
  return h("section", { class: "card" }, h("h3", null, t(titleKey)), body);
}

function sexLabel(sex) {
  const s = String(sex ?? "").toLowerCase();
  if (["f", "female", "女"].includes(s)) return t("sex.female");
  if (["m", "male", "男"].includes(s)) return t("sex.male");
  return sex || null;
}

function residentCard(resident) {
  if (!resident) return section("section.resident", h("p", { class: "muted" }, t("resident.none")));
  const age = resident.birth_year ? new Date(now()).getFullYear() - resident.birth_year : null;
  const headline = [age !== null ? t("resident.age", { age }) : null, sexLabel(resident.sex)].filter(Boolean).join(" · ");
  return section("section.resident",
    h("p", { class: "person" }, h("strong", { class: "name" }, resident.name), headline ? ` ${headline}` : null),
    h("dl", null,
      field(t("resident.phone"), telLink(resident.phone)),
      field(t("resident.conditions"), list(resident.conditions)),
      field(t("resident.medications"), list(resident.medications)),
      field(t("resident.mobility"), label("mobility", resident.mobility)),
      field(t("resident.notes"), resident.notes)));
}

function contactsCard(contacts) {
  const sorted = [...(contacts ?? [])].sort((a, b) => (a.priority ?? 99) - (b.priority ?? 99));
  if (sorted.length === 0) return section("section.contacts", h("p", { class: "muted" }, t("contacts.none")));
  return section("section.contacts",
    h("ul", { class: "contacts" }, sorted.map((c) =>
      h("li", null,
        h("span", { class: "contact-name" }, c.name),
        c.relation ? h("span", { class: "muted" }, ` (${c.relation})`) : null,
        c.keyholder ? h("span", { class: "keyholder" }, t("contacts.keyholder")) : null,
        h("span", { class: "contact-phone" }, telLink(c.phone))))));
}

function locationCard(alarm, site, room) {
  const roomText = room
    ? [room.name, room.floor !== null && room.floor !== undefined ? t("location.floor", { floor: room.floor }) : null].filter(Boolean).join(" · ")
    : alarm.room_name;
  return section("section.location",
    h("dl", null,
      field(t("location.site"), site?.name ?? alarm.site_name),
      field(t("location.room"), roomText),
      field(t("location.address"), site?.address),
      field(t("location.community"), site?.community)));
}

function deviceCard(alarm, device) {
  const d = device ?? { id: alarm.device_id, kind: alarm.device_kind };
  const battery = d.battery === null || d.battery === undefined ? null : `${d.battery} %`;
  const online = d.online === undefined || d.online === null ? null
    : h("span", { class: d.online ? "online" : "offline" }, t(d.online ? "device.isOnline" : "device.isOffline"));
  return section("section.device",
    h("dl", null,
      field(t("device.id"), d.id),
      field(t("device.kind"), label("device", d.kind)),
      field(t("device.model"), d.model),
      field(t("device.battery"), battery),
      field(t("device.lastCheckin"), d.last_checkin ? formatTime(d.last_checkin) : null),
      field(t("device.online"), online)));
}

function alarmCard(alarm, snippet) {
  const details = alarm.details ?? {};
  const rows = [];
  for (const known of KNOWN_DETAILS) {
    if (details[known.key] !== undefined && details[known.key] !== null) {
      rows.push(field(t(known.label), known.format(details[known.key])));
    }
  }
  for (const [key, value] of Object.entries(details)) {
    if (key === "snippet" || KNOWN_DETAILS.some((k) => k.key === key)) continue;
    rows.push(field(key, typeof value === "object" ? JSON.stringify(value) : String(value)));
  }
  // The snippet normally comes beside the alarm; accept it inside details too.
  const snip = snippet ?? details.snippet;
  const chart = Array.isArray(snip?.magnitude) && snip.magnitude.length > 1 ? magnitudeCanvas(snip) : null;
  return section("section.alarm",
    h("dl", null,
      field(t("detail.occurred"), formatTime(alarm.occurred_at)),
      field(t("detail.raised"), formatTime(alarm.raised_at)),
      rows),
    chart);
}

function eventsCard(events) {
  const sorted = [...(events ?? [])].sort((a, b) => String(b.ts).localeCompare(String(a.ts)));
  if (sorted.length === 0) return section("section.events", h("p", { class: "muted" }, t("events.none")));
  return section("section.events",
    h("ol", { class: "events" }, sorted.map((e) =>
      h("li", null, h("time", { datetime: e.ts }, formatTime(e.ts)), " ", h("span", null, label("kind", e.type))))));
}

// The top of the panel, re-rendered on its own when the alarm's status changes so the cards
// below (and the chart) are not rebuilt under the operator's eyes.
export function detailHead(alarm, { busy, error, onAck }) {
  const waiting = isWaiting(alarm);
  const title = [alarm.resident_name, alarm.site_name].filter(Boolean).join(" · ");
  const ackButton = waiting
    ? h("button", { type: "button", id: "ack-button", class: "primary", disabled: busy, onclick: onAck },
      t(busy ? "detail.acking" : "detail.ack"))
    : null;
  const status = waiting
    ? h("span", { class: "status waiting" }, t("detail.status.new"))
    : h("span", { class: "status acked" }, t("detail.acked", {
      who: alarm.acknowledged_by ?? t("none"), time: formatTime(alarm.acknowledged_at),
    }));
  return [
    h("div", { class: "head-text" },
      h("h2", { id: "detail-title" },
        h("span", { class: ["prio", `p${Math.min(Math.max(Number(alarm.priority) || 4, 1), 4)}`] }, `P${alarm.priority ?? "?"}`),
        " ", label("kind", alarm.kind)),
      h("p", { class: "subtitle" }, title || t("none")),
      h("p", null, status,
        alarm.details?.cancelled_at ? h("span", { class: "cancelled-badge" }, t("row.cancelled")) : null)),
    h("div", { class: "head-actions" },
      ackButton,
      error ? h("p", { id: "ack-error", class: "error", role: "alert" }, error) : null),
  ];
}

export function detailBody(data) {
  const { alarm } = data;
  return [
    residentCard(data.resident),
    contactsCard(data.contacts),
    locationCard(alarm, data.site, data.room),
    deviceCard(alarm, data.device),
    alarmCard(alarm, data.snippet),
    eventsCard(data.recent_events),
  ];
}
