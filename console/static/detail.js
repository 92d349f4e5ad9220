// The cards of the incident panel: everything the operator needs on one screen to call back and
// dispatch help — who, where, their health, whom to call, what the devices said.
import { h, telLink } from "./dom.js";
import { t, label, lang } from "./i18n.js";
import { formatTime, now, parseTime } from "./clock.js";
import { magnitudeCanvas } from "./chart.js";

// Detail keys that get their own labelled line; anything else the server adds is still listed
// under its raw key, so no information is silently hidden from the operator.
// Hours as "3 h 05 min", the same in both languages.
export function hoursText(v) {
  const minutes = Math.round(Number(v) * 60);
  if (!Number.isFinite(minutes)) return String(v);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

// A battery level as a silent device last reported it, and whether the server judged it gone
// flat (detection/device_health.py FLAT_PCT): the operator then asks for a charge, not a repair.
function batteryText(v, flat) {
  const pct = `${Math.round(Number(v))} %`;
  if (!flat) return pct;
  return lang() === "zh-CN" ? `${pct}（${t("alarm.probablyFlat")}）` : `${pct} (${t("alarm.probablyFlat")})`;
}

// Wearables' vitals and self check-ups (alerts/checkups.py uses the same detail keys).
const UNITS = { heart_rate: "bpm", spo2: "%", skin_temperature: "°C", bp_systolic: "mmHg",
  bp_diastolic: "mmHg", glucose: "mmol/L", weight: "kg", temperature: "°C" };

// What the welfare detectors put in an alarm's details, in words and in the viewer's zone; a
// `hide` rule leaves out what says nothing (a count of one). Keys not listed are shown raw.
const KNOWN_DETAILS = [
  { key: "peak_g", label: "alarm.peakG", format: (v) => `${Number(v).toFixed(2)} g` },
  { key: "confidence", label: "alarm.confidence", format: (v) => (v <= 1 ? `${Math.round(v * 100)} %` : `${v}`) },
  { key: "cancelled_at", label: "alarm.cancelledAt", format: formatTime },
  { key: "last_movement_at", label: "alarm.lastMovement", format: formatTime },
  { key: "silent_h", label: "alarm.silentFor", format: hoursText },
  { key: "limit_h", label: "alarm.limit", format: hoursText },
  // a new resident's night, judged by the default limit (detection/inactivity.py): a long
  // night may be their usual, so phone before sending anyone
  { key: "nights_known", label: "alarm.nightsKnown", format: (v, d) => t("alarm.nightsKnownOf", { n: v, of: d.nights_needed ?? 11 }) },
  { key: "nights_needed", label: "alarm.nightsKnown", hide: () => true, format: String },
  // the watch said it was off the wrist (ingest/welfare.py): it cannot see its wearer move
  { key: "watch_off_since", label: "alarm.watchOff", format: formatTime },
  // the watch itself is silent (flat, out of range): its wearer's stillness is not known
  { key: "watch_unheard_since", label: "alarm.watchUnheard", format: formatTime },
  // and the battery it last reported: a few percent says it has gone flat (detection.device_health)
  { key: "watch_battery_pct", label: "alarm.watchBattery", format: (v, d) => batteryText(v, d.watch_flat === true) },
  { key: "watch_flat", label: "alarm.watchBattery", hide: () => true, format: String },
  // and when it was heard again (charged, back in range), while the alarm was open
  { key: "watch_heard_again_at", label: "alarm.watchHeardAgain", format: formatTime },
  // part of the silence was the platform's own outage (ingest/welfare.py): said, with when
  { key: "unheard_from", label: "alarm.unheard", format: (v, d) => `${formatTime(v)} – ${formatTime(d.unheard_to)}` },
  { key: "unheard_to", label: "alarm.unheard", hide: () => true, format: formatTime },
  { key: "unusual_day_score", label: "alarm.unusualDay", format: (v) => Number(v).toFixed(2) },
  { key: "vital", label: "alarm.vital", format: (v) => label("vital", v) },
  { key: "value", label: "alarm.value", format: (v, d) => `${v}${UNITS[d.vital] ? ` ${UNITS[d.vital]}` : ""}` },
  { key: "finding", label: "alarm.finding", format: (v) => label("finding", v) },
  { key: "anomaly_score", label: "alarm.anomalyScore", format: (v) => Number(v).toFixed(2) },
  // a wandering says which safe place was left (ingest/welfare.py): home, or one its carers named
  { key: "distance_m", label: "alarm.distance",
    format: (v, d) => t("alarm.distanceFrom", { metres: Math.round(Number(v)), place: placeName(d.place ?? "home") }) },
  { key: "place", label: "alarm.distance", hide: () => true, format: String },
  // still within a stay whose end has passed (detection/geofence.py): ask who they stayed with
  { key: "stay_ended", label: "alarm.stayEnded", format: (v) => t("alarm.stayEndedAt", { place: v }) },
  { key: "problem", label: "alarm.problem", format: (v) => label("problem", v) },
  { key: "detail", label: "alarm.detail", format: String },
  // a silent device's last battery, and those that have probably gone flat (device health)
  { key: "last_battery_pct", label: "alarm.lastBattery",
    format: (v, d) => batteryText(v, Array.isArray(d.flat_devices) && d.flat_devices.length > 0) },
  // a device's own finding says it on its battery line; an elder's welfare check names them
  // an elder's emergency devices heard again after their welfare check (store/batch.py)
  { key: "heard_again_at", label: "alarm.heardAgain", format: formatTime },
  // a care home gone silent whose devices are heard again (its site_silent alarm stays open)
  { key: "site_heard_again_at", label: "alarm.siteHeardAgain", format: formatTime },
  { key: "flat_devices", label: "alarm.flatDevices", format: (v) => list(v),
    hide: (v, d) => !Array.isArray(v) || v.length === 0 || d.last_battery_pct !== undefined },
  // the home gateway their devices speak through is offline (device health): its line, not them
  { key: "gateways_down", label: "alarm.gatewaysDown", format: (v) => list(v),
    hide: (v, d, alarm) => !Array.isArray(v) || v.length === 0 || alarm?.kind === "area_outage" },
  // an area's outage: the gateways down when it was raised (the card's "now" line follows it)
  { key: "gateways_down", label: "alarm.areaGateways", format: (v) => list(v),
    hide: (v, d, alarm) => !Array.isArray(v) || v.length === 0 || alarm?.kind !== "area_outage" },
  // part of a community's outage (device health: several homes' gateways down together), or
  // that outage's own alarm: the provider's network, told once
  { key: "area_outage", label: "alarm.areaOutage", format: (v) => t("alarm.areaOutageOf", { community: v }),
    hide: (v, d, alarm) => alarm?.kind === "area_outage" },
  { key: "area_heard_again_at", label: "alarm.areaHeardAgain", format: formatTime },
  // a home gateway's own item (ingest/welfare.py): the elders whose devices go through it, and
  // those it leaves with no way at all to call (their welfare check stands for them)
  // (by name, with the id, from the alarm's `named`: store/alarms.py)
  { key: "behind", label: "alarm.behind", format: (v, d, alarm) => list(v.map((id) => named(alarm, id))),
    hide: (v, d, alarm) => !Array.isArray(v) || v.length === 0 || alarm?.kind === "area_outage" },
  { key: "behind", label: "alarm.areaBehind", format: (v, d, alarm) => list(v.map((id) => named(alarm, id))),
    hide: (v, d, alarm) => !Array.isArray(v) || v.length === 0 || alarm?.kind !== "area_outage" },
  { key: "cut_off", label: "alarm.cutOff", format: (v, d, alarm) => list(v.map((id) => named(alarm, id))),
    hide: (v) => !Array.isArray(v) || v.length === 0 },
  { key: "count", label: "alarm.count", format: String, hide: (v) => Number(v) <= 1 },
  { key: "first_ts", label: "alarm.firstAt", format: (v) => formatTime(new Date(Number(v) * 1000).toISOString()),
    hide: (v, d) => !Number.isFinite(Number(v)) || Number(d.count ?? 1) <= 1 },
  // A device's own event: said only when it is not the alarm itself ("sos" on an SOS call).
  { key: "event", label: "alarm.event", format: (v) => label("kind", v), hide: (v, d, alarm) => v === alarm.kind },
  { key: "presses", label: "alarm.presses", format: String, hide: (v) => Number(v) <= 1 },
  // an event from a device whose clock is wrong is raised when it arrived (ingest/codec.py):
  // the time the device said, so the operator knows its clock needs setting
  { key: "device_clock_ts", label: "alarm.deviceClock", format: (v) => {
    const when = new Date(Number(v));
    return Number.isFinite(when.getTime()) ? formatTime(when.toISOString()) : String(v);
  } },
  // an event raised from the sound fields of a message that broke the contract (ingest/codec.py)
  { key: "contract_error", label: "alarm.contractError", format: String },
  // a new press under a message number the device had used before (store/batch.py)
  { key: "seq_reused", label: "alarm.seqReused", format: String },
  // What the fall detector saw around the impact (ingest/handoff.py evidence()).
  { key: "impact_ts", label: "alarm.impactAt", format: (v) => formatTime(new Date(Number(v) * 1000).toISOString()),
    hide: (v) => !Number.isFinite(Number(v)) },
  { key: "posture_change_deg", label: "alarm.postureChange", format: (v) => `${Math.round(Number(v))}°` },
  { key: "stillness", label: "alarm.stillness", format: (v) => `${Math.round(Number(v) * 100)} %` },
  // Where a wanderer was found out of their zone.
  { key: "lat", label: "alarm.position", format: (v, d) => `${Number(v).toFixed(5)}, ${Number(d.lon).toFixed(5)}`,
    hide: (v, d) => !Number.isFinite(Number(v)) || !Number.isFinite(Number(d.lon)) },
  { key: "lon", label: "alarm.position", format: String, hide: () => true },
  // A self check-up's readings (alerts/checkups.py): each measure with its finding.
  { key: "checkup", label: "alarm.checkup", format: (v) => label("device", v) },
  { key: "findings", label: "alarm.findings", hide: (v) => !Array.isArray(v) || v.length === 0,
    format: (v) => list(v.map((f) => `${label("vital", f.measure)} ${f.value}${f.unit ? ` ${f.unit}` : ""} ${label("finding", f.finding)}`)) },
  { key: "entered_by", label: "alarm.enteredBy", format: String },
];

// An elder the alarm names by id, by their name where the server gave it.
function named(alarm, id) {
  const name = alarm?.named?.[id];
  return name ? `${name} (${id})` : String(id);
}

export function field(name, ...value) {
  const shown = value.filter((v) => v !== null && v !== undefined && v !== "");
  return [h("dt", null, name), h("dd", null, shown.length ? shown : t("none"))];
}

export function list(values) {
  if (!Array.isArray(values) || values.length === 0) return t("none");
  return values.join(lang() === "zh-CN" ? "、" : ", ");
}

export function section(titleKey, ...body) {
  return h("section", { class: "card", dataset: { card: titleKey } }, h("h3", null, t(titleKey)), body);
}

export function muted(key, vars) {
  return h("p", { class: "muted" }, t(key, vars));
}

function sexLabel(sex) {
  const s = String(sex ?? "").toLowerCase();
  if (["f", "female", "女"].includes(s)) return t("sex.female");
  if (["m", "male", "男"].includes(s)) return t("sex.male");
  return sex || null;
}

export function ageOf(resident) {
  return resident?.birth_year ? new Date(now()).getFullYear() - resident.birth_year : null;
}

// resident: from GET /residents/{id} (with site and room) or the alarm detail's resident; site
// and room come from the alarm detail when the resident record does not carry them.
// When the centre would be called if the resident stays still: the inactivity check's limit
// (learnt from their own days, the daytime default, the night's, the morning's for a silence
// carried over from the night, or the day's still for one that began before their usual
// bedtime), from GET .../status.
export function welfareCall(still) {
  if (!still) return null;
  const why = still.evening ? "still.callEvening" : still.night ? "still.callNight"
    : still.morning ? "still.callMorning" : still.learnt ? "still.callLearnt" : "still.callDefault";
  return h("span", { class: "welfare-call" }, still.at_home
    ? t(why, { time: formatTime(still.calls_at), limit: hoursText(still.limit_s / 3600) }) : t("still.callAway"));
}

// "Last movement" and "If still, the centre is called": both empty until ingest kept a summary;
// ``still === false``: no worn device sees the elder move, so no stillness is ever called.
export function stillFields(still) {
  if (still === false) {
    return [field(t("still.call"), h("span", { class: "welfare-call not-watched" }, t("still.notWatched")))];
  }
  return [field(t("still.lastMovement"), still ? formatTime(still.last_movement_at) : null),
    field(t("still.call"), welfareCall(still)),
    // when the night's rules take over: learnt from their nights, once ten are known
    still?.night_from ? field(t("still.nightFrom"), h("span", { class: "night-from" },
      t("still.nightFromLearnt", { time: still.night_from }))) : null];
}

export function residentCard(resident, site, room, still) {
  if (!resident) return section("section.resident", muted("resident.none"));
  const age = ageOf(resident);
  const headline = [age !== null ? t("resident.age", { age }) : null, sexLabel(resident.sex)].filter(Boolean).join(" · ");
  const where = resident.site ?? site;
  const inRoom = resident.room ?? room;
  const roomText = inRoom
    ? [inRoom.name, inRoom.floor !== null && inRoom.floor !== undefined ? t("location.floor", { floor: inRoom.floor }) : null].filter(Boolean).join(" · ")
    : null;
  return section("section.resident",
    h("p", { class: "person" }, h("strong", { class: "name" }, resident.name), headline ? ` ${headline}` : null),
    h("dl", null,
      field(t("resident.phone"), telLink(resident.phone)),
      field(t("location.address"), where?.address),
      field(t("location.community"), where?.community),
      field(t("location.site"), where?.name),
      roomText ? field(t("location.room"), roomText) : null,
      field(t("resident.conditions"), list(resident.conditions)),
      field(t("resident.medications"), list(resident.medications)),
      field(t("resident.mobility"), label("mobility", resident.mobility)),
      // their own night, set by carers: hours at the resident's home, not the viewer's
      resident.asleep_from != null && resident.up_by != null
        ? field(t("resident.night"), `${hour(resident.asleep_from)}–${hour(resident.up_by)}`) : null,
      safePlaces(resident),
      ...(still === undefined ? [] : stillFields(still)),
      field(t("resident.notes"), resident.notes)));
}

// "home" is the geofence's name for the home circle (detection/geofence.py); others are the
// names carers gave them, shown as given
export function placeName(name) {
  return name === "home" ? t("place.home") : name;
}

// The circles the geofence holds the resident to (migration 0031), when it does: at home, with
// coordinates, wearing a locating device (the server's `geofenced`, ingest's rule)
export function safePlaces(resident) {
  if (resident?.geofenced !== true) return null;
  const home = `${t("place.home")} (${Math.round(resident.safe_radius_m ?? 300)} m)`;
  // a stay says until when, and a family's says who set it (the centre's own are the default)
  const others = (resident.places ?? []).map((p) => `${p.name} (${[`${Math.round(p.radius_m)} m`,
    p.ends_at ? t("place.until", { time: formatTime(p.ends_at) }) : null,
    p.by_family ? t("place.setBy", { who: p.changed_by }) : null].filter(Boolean).join(lang() === "zh-CN" ? "，" : ", ")})`);
  return field(t("resident.places"), h("span", { class: "safe-places" }, [home, ...others].join(" · ")));
}

function hour(h) {
  return `${String(h).padStart(2, "0")}:00`;
}

export function contactsCard(contacts) {
  const sorted = [...(contacts ?? [])].sort((a, b) => (a.priority ?? 99) - (b.priority ?? 99));
  if (sorted.length === 0) return section("section.contacts", muted("contacts.none"));
  return section("section.contacts",
    h("ul", { class: "contacts" }, sorted.map((c) =>
      h("li", null,
        h("span", { class: "contact-name" }, c.name),
        c.relation ? h("span", { class: "muted" }, ` (${c.relation})`) : null,
        c.keyholder ? h("span", { class: "keyholder" }, t("contacts.keyholder")) : null,
        h("span", { class: "contact-phone" }, telLink(c.phone))))));
}

// A device offline having last reported this battery or less has probably gone flat
// (detection/device_health.py's FLAT_PCT): the family or staff charge it, no technician needed.
const FLAT_PCT = 5;

function battery(d) {
  if (d.battery === null || d.battery === undefined) return null;
  const flat = d.online === false && Number(d.battery) <= FLAT_PCT;
  return h("span", { class: [Number(d.battery) <= 20 ? "offline" : null, flat ? "flat" : null].filter(Boolean).join(" ") || null },
    batteryText(d.battery, flat));
}

function online(d) {
  if (d.online === undefined || d.online === null) return null;
  return h("span", { class: d.online ? "online" : "offline" }, t(d.online ? "device.isOnline" : "device.isOffline"));
}

// One row per device: an operator checks at a glance whether the pendant's battery is flat or
// the watch stopped checking in, which changes what a missed call back means.
export function devicesCard(devices) {
  const rows = (devices ?? []).filter(Boolean);
  if (rows.length === 0) return section("section.devices", muted("devices.none"));
  return section("section.devices", h("div", { class: "table-wrap" },
    h("table", { class: "grid-table devices" },
      h("thead", null, h("tr", null,
        ["device.id", "device.kind", "device.battery", "device.lastCheckin", "device.online"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", null, rows.map((d) => h("tr", { dataset: { deviceId: d.id } },
        h("td", null, d.id, d.model ? h("span", { class: "muted small" }, ` ${d.model}`) : null,
          // it reaches the centre through the home gateway listed with it (store/residents.py)
          d.via ? h("span", { class: "muted small via" }, ` · ${t("device.via", { gateway: d.via })}`) : null),
        h("td", null, label("device", d.kind)),
        h("td", null, battery(d) ?? t("none")),
        // A button that has not checked in yet may still have been heard from (a press).
        h("td", null, d.last_checkin ? formatTime(d.last_checkin)
          : d.last_seen ? h("span", { class: "muted" }, t("device.seenAt", { time: formatTime(d.last_seen) })) : t("none")),
        // a watch off the wrist cannot see its wearer fall or move (ingest/welfare.py)
        h("td", null, d.worn === false
          ? h("span", { class: "offline off-wrist" }, t("device.offWrist", { time: formatTime(d.off_since) }))
          : online(d) ?? t("none"))))))));
}

// A fix taken more than this long before the alarm is flagged: in a quarter of an hour an elder
// who is out walks a kilometre, so help sent there may find nobody.
const STALE_FIX_MS = 15 * 60_000;
const FIX_SOURCES = ["gps", "wifi", "cell", "fixed"];

// "12 min before the alarm": how long before the alarm (at most a minute after it) the fix was taken.
function fixAge(ms) {
  if (!Number.isFinite(ms)) return null;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  if (minutes < 1) return t("alarm.fixAge.now");
  if (ms < 0) return t("alarm.fixAge.after", { minutes });
  if (minutes < 60) return t("alarm.fixAge.before", { minutes });
  return t("alarm.fixAge.beforeHours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
}

// The wearable's last fix as the store attached it to the alarm (details.last_location): where,
// how precisely, and how old it was when the alarm came. Null if it is not a usable position,
// so that the raw value is listed instead.
export function lastLocation(fix, occurredAt) {
  const lat = Number(fix?.lat);
  const lon = Number(fix?.lon);
  if (fix?.lat === null || fix?.lon === null || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const before = (parseTime(occurredAt) ?? NaN) - (parseTime(fix.at) ?? NaN);
  const stale = before > STALE_FIX_MS;
  const acc = fix.acc_m === null || fix.acc_m === undefined ? NaN : Number(fix.acc_m);
  const age = fixAge(before);
  return h("span", { class: ["last-location", stale ? "warn" : null], dataset: { stale: String(stale) } },
    h("a", { href: `geo:${lat},${lon}`, class: "geo", title: t("alarm.lastLocation.open") }, `${lat.toFixed(5)}, ${lon.toFixed(5)}`),
    Number.isFinite(acc) ? ` ${t("alarm.lastLocation.accuracy", { metres: Math.round(acc) })}` : null,
    FIX_SOURCES.includes(fix.source) ? ` (${t(`alarm.fixSource.${fix.source}`)})` : fix.source ? ` (${fix.source})` : null,
    h("br"),
    fix.at ? h("time", { datetime: fix.at }, formatTime(fix.at)) : null,
    age ? ` · ${age}` : null,
    stale ? h("span", { class: "stale-note" }, ` · ${t("alarm.lastLocation.stale")}`) : null);
}

export function alarmCard(alarm, snippet) {
  const details = alarm.details ?? {};
  const rows = [];
  for (const known of KNOWN_DETAILS) {
    const v = details[known.key];
    if (v !== undefined && v !== null && !known.hide?.(v, details, alarm)) {
      rows.push(field(t(known.label), known.format(v, details, alarm)));
    }
  }
  const position = lastLocation(details.last_location, alarm.occurred_at);
  for (const [key, value] of Object.entries(details)) {
    if (key === "snippet" || KNOWN_DETAILS.some((k) => k.key === key)) continue;
    if (key === "last_location" && position) continue;
    rows.push(field(key, typeof value === "object" ? JSON.stringify(value) : String(value)));
  }
  // A wearable without a fix says so: "no position" is itself worth knowing on the phone.
  const where = position ?? (alarm.device_kind === "wearable" && !details.last_location ? t("alarm.lastLocation.none") : null);
  // The snippet normally comes beside the alarm; accept it inside details too.
  const snip = snippet ?? details.snippet;
  const chart = Array.isArray(snip?.magnitude) && snip.magnitude.length > 1 ? magnitudeCanvas(snip) : null;
  const late = lateBy(alarm);
  return section("section.alarm",
    h("dl", null,
      field(t("device.id"), alarm.device_id),
      field(t("detail.occurred"), formatTime(alarm.occurred_at)),
      field(t("detail.raised"), formatTime(alarm.raised_at)),
      late ? [h("dt", null, t("alarm.late")), h("dd", { class: "warn late" }, t("alarm.lateBy", { delay: late }))] : null,
      // other homes' gateways of the same community offline now (store/alarms.py): many at
      // once is the provider's network, and the operator phones knowing it
      alarm.kind === "area_outage"
        ? field(t("alarm.areaNow", { community: alarm.details?.area_outage ?? alarm.site_community ?? "" }),
          t("alarm.areaNowCount", { n: Number(alarm.gateways_down_nearby ?? 0) }))
        : Number(alarm.gateways_down_nearby) > 0
        ? field(t("alarm.gatewaysNearby", { community: alarm.site_community ?? "" }),
          t("alarm.gatewaysNearbyCount", { n: Number(alarm.gateways_down_nearby) }))
        : null,
      where ? field(t("alarm.lastLocation"), where) : null,
      rows),
    chart);
}

// What a device said (a press, smoke: its own event) that reached the centre long after it was
// said: held on the way, in a home gateway's spool while its line was cut (gateway/spool.py),
// in a device out of reach, or by the centre's own outage. The operator must not read the time
// it was raised as the time it happened. Findings the platform judges itself are left out:
// their time is the judging's (a fall's is its impact, raised after the wearer's grace period).
export const LATE_S = 120; // the queue's badge (queue.js) says it from the same point
function lateBy(alarm) {
  if (!alarm?.details?.event) return null;
  const seconds = (parseTime(alarm.raised_at) - parseTime(alarm.occurred_at)) / 1000;
  if (!Number.isFinite(seconds) || seconds < LATE_S) return null;
  return seconds < 3600 ? `${Math.round(seconds / 60)} min` : hoursText(seconds / 3600);
}

export function eventsCard(events) {
  const sorted = [...(events ?? [])].sort((a, b) => String(b.ts).localeCompare(String(a.ts)));
  if (sorted.length === 0) return section("section.events", muted("events.none"));
  return section("section.events",
    h("ol", { class: "events" }, sorted.map((e) =>
      h("li", null, h("time", { datetime: e.ts }, formatTime(e.ts)), " ", h("span", null, label("kind", e.type))))));
}

// Every alarm of the incident: a second press or a smoke detector in the next room is part of
// the same story and the operator must see it arrived.
export function alarmsCard(alarms, alarmIds) {
  const rows = alarms?.length ? alarms : (alarmIds ?? []).map((id) => ({ id }));
  if (rows.length === 0) return section("section.alarms", muted("events.none"));
  return section("section.alarms",
    h("ol", { class: "events alarms-of-incident" }, rows.map((a) =>
      h("li", { dataset: { alarmId: a.id } },
        a.raised_at ? h("time", { datetime: a.raised_at }, formatTime(a.raised_at)) : null,
        " ", h("span", null, a.kind ? label("kind", a.kind) : `#${a.id}`),
        a.device_id ? h("span", { class: "muted" }, ` ${a.device_id}`) : null,
        a.room_name ? h("span", { class: "muted" }, ` · ${t("row.room", { room: a.room_name })}`) : null))));
}

// The timeline is the incident's audit: who did what, when, with what responder or outcome.
export function timelineCard(timeline) {
  const steps = timeline ?? [];
  if (steps.length === 0) return section("section.timeline", muted("timeline.none"));
  return section("section.timeline",
    h("ol", { class: "timeline" }, steps.map((s) => {
      const d = s.details ?? {};
      const extra = [
        d.responder ? label("responder", d.responder) : null,
        d.outcome ? label("outcome", d.outcome) : null,
      ].filter(Boolean).join(" · ");
      return h("li", { dataset: { action: s.action } },
        h("time", { datetime: s.at }, formatTime(s.at)),
        h("span", { class: "step" }, label("action", s.action)),
        h("span", { class: "actor" }, s.actor === "system" ? t("timeline.system") : s.actor),
        s.to_status && s.to_status !== s.from_status ? h("span", { class: "muted" }, `→ ${label("status", s.to_status)}`) : null,
        extra ? h("span", { class: "step-extra" }, extra) : null,
        d.note ? h("q", { class: "note" }, d.note) : null);
    })));
}
