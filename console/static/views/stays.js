// A family telling the centre where their elder is staying, and until when ("Mum is with me
// until Sunday"): the place is safe at night until the stay's end, and stops being safe then of
// itself (console/residents.py, PUT /residents/{id}/places/{name}; detection/geofence.py). The
// position is typed in or taken from the elder's watch or this phone; whoever sets a stay is
// reminded by message three hours before it ends (alerts/notify.py). Only stays a family set
// are listed here, each with a button to end it early; the centre's places are in the status
// card and not the family's to change. Built once and kept while the page refreshes, like the
// preferences, so a half-filled form survives the minute's refresh.
import { api, optional } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatTime } from "../clock.js";
import { muted } from "../detail.js";
import { errorText } from "../panel.js";

function localInput(ms) {
  // a datetime-local input's value is the viewer's own wall time, to the minute
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function familyStays(ctx) {
  let resident = null; // the elder shown, or null (not held to safe places: no card)
  let reload = () => {};
  const list = h("ul", { class: "plain stays-list", id: "stays-list" });
  const name = h("input", { type: "text", id: "stay-name", maxlength: 100, required: true, placeholder: t("stays.namePlaceholder") });
  const until = h("input", { type: "datetime-local", id: "stay-until", required: true });
  const radius = h("input", { type: "number", id: "stay-radius", min: 50, max: 5000, step: 10, value: 300, required: true });
  const lat = h("input", { type: "number", id: "stay-lat", min: -90, max: 90, step: "any", required: true });
  const lon = h("input", { type: "number", id: "stay-lon", min: -180, max: 180, step: "any", required: true });
  const message = h("p", { id: "stays-message", role: "status", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary", id: "stay-save" }, t("stays.save"));

  function say(text, error = false) {
    message.className = error ? "error" : "";
    message.textContent = text;
  }

  function fill(position) {
    lat.value = position.lat.toFixed(6);
    lon.value = position.lon.toFixed(6);
  }

  // the elder's latest fix of the last day, as the locations map has it
  async function fromElder() {
    say("");
    try {
      const where = await optional(`/api/v1/residents/${encodeURIComponent(resident.id)}/locations?hours=24`);
      const points = where?.points ?? [];
      if (points.length === 0) return say(t("stays.noFix"), true);
      const last = points.reduce((a, b) => (a.ts > b.ts ? a : b));
      fill(last);
      say(t("stays.fromElder", { time: formatTime(last.ts) }));
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      say(errorText(err), true);
    }
  }

  function fromPhone() {
    say("");
    if (!navigator.geolocation) return say(t("stays.noGeo"), true);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        fill({ lat: p.coords.latitude, lon: p.coords.longitude });
        say(t("stays.fromPhone", { metres: Math.round(p.coords.accuracy) }));
      },
      () => say(t("stays.noGeo"), true),
      { enableHighAccuracy: true, timeout: 15_000 });
  }

  const form = h("form", { class: "stays", id: "stays-form", novalidate: true },
    h("label", { for: "stay-name" }, t("stays.name")), name,
    h("label", { for: "stay-until" }, t("stays.until")), until,
    h("label", { for: "stay-radius" }, t("stays.radius")), radius,
    h("fieldset", { class: "stay-where" }, h("legend", null, t("stays.where")),
      h("button", { type: "button", id: "stay-from-elder", onclick: fromElder }, t("stays.whereElder")),
      h("button", { type: "button", id: "stay-from-phone", onclick: fromPhone }, t("stays.whereMe")),
      h("label", { for: "stay-lat" }, t("stays.lat")), lat,
      h("label", { for: "stay-lon" }, t("stays.lon")), lon),
    save, message);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const place = name.value.trim();
    const ends = until.value ? new Date(until.value) : null;
    if (!place) return say(t("stays.needName"), true);
    if (!ends || Number.isNaN(ends.getTime())) return say(t("stays.needUntil"), true);
    if (lat.value === "" || lon.value === "") return say(t("stays.needWhere"), true);
    save.disabled = true;
    say(t("prefs.saving"));
    try {
      const body = { lat: Number(lat.value), lon: Number(lon.value), radius_m: Number(radius.value),
        ends_at: ends.toISOString() };
      const r = await api("PUT", `/api/v1/residents/${encodeURIComponent(resident.id)}/places/${encodeURIComponent(place)}`, body);
      // and when the one who set it will be reminded (alerts/notify.py), if they will be
      const saved = { name: r.place.name, time: formatTime(r.place.ends_at) };
      say(r.remind_at ? t("stays.savedRemind", { ...saved, remind: formatTime(r.remind_at) }) : t("stays.saved", saved));
      for (const input of [name, until, lat, lon]) input.value = "";
      reload();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      say(errorText(err), true);
    } finally {
      save.disabled = false;
    }
  });

  async function end(place, button) {
    button.disabled = true;
    try {
      await api("DELETE", `/api/v1/residents/${encodeURIComponent(resident.id)}/places/${encodeURIComponent(place.name)}`);
      say(t("stays.ended", { name: place.name }));
      reload();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      button.disabled = false;
      say(errorText(err), true);
    }
  }

  const el = h("section", { class: "card", id: "family-stays", dataset: { card: "section.stays" } },
    h("h3", null, t("section.stays")), muted("stays.intro"), list, form);

  return {
    el,
    // the elder as read now; another elder than before starts with an empty form
    show(record, again) {
      reload = again;
      const r = record?.resident;
      if (!r || r.geofenced !== true) {
        resident = null;
        return null;
      }
      if (resident?.id !== r.id) {
        for (const input of [name, until, lat, lon]) input.value = "";
        radius.value = "300";
        say("");
      }
      resident = r;
      until.min = localInput(Date.now());
      const stays = (r.places ?? []).filter((p) => p.by_family);
      list.replaceChildren(...(stays.length === 0 ? [h("li", { class: "muted" }, t("stays.none"))] : stays.map((p) =>
        h("li", { class: "stay", dataset: { place: p.name } },
          h("span", { class: "stay-text" }, t("stays.item", { name: p.name, metres: Math.round(p.radius_m), time: formatTime(p.ends_at) })), " ",
          h("button", { type: "button", class: "small stay-end", onclick: (e) => end(p, e.currentTarget) }, t("stays.end"))))));
      return el;
    },
  };
}

// The operator's side of the same thing, in the panel of an open wandering: the daughter on
// the phone says "she is with me, staying till Sunday", and the operator records the stay
// where the latest position is, so the next night there is no alarm (the centre's place: its
// end may be left empty, for a lasting one). Built once per panel; `position()` is read when
// saving, so the map's following keeps it current.
export function stayHereForm(residentId, position, onSaved, onUnauthorized) {
  const name = h("input", { type: "text", id: "stay-here-name", maxlength: 100, required: true, placeholder: t("stays.namePlaceholder") });
  const until = h("input", { type: "datetime-local", id: "stay-here-until", min: localInput(Date.now()) });
  const where = h("p", { class: "muted stay-here-at" });
  const message = h("p", { id: "stay-here-message", role: "status", "aria-live": "polite" });
  const save = h("button", { type: "submit", id: "stay-here-save" }, t("stayHere.save"));
  const say = (text, error = false) => {
    message.className = error ? "error" : "";
    message.textContent = text;
  };
  const form = h("form", { class: "stays stay-here", id: "stay-here", novalidate: true },
    h("label", { for: "stay-here-name" }, t("stays.name")), name,
    h("label", { for: "stay-here-until" }, t("stayHere.until")), until,
    where, save, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const place = name.value.trim();
    const at = position();
    if (!place) return say(t("stays.needName"), true);
    if (!at) return say(t("stays.noFix"), true);
    const ends = until.value ? new Date(until.value) : null;
    save.disabled = true;
    try {
      const body = { lat: at.lat, lon: at.lon, radius_m: 300, ends_at: ends ? ends.toISOString() : null };
      const r = await api("PUT", `/api/v1/residents/${encodeURIComponent(residentId)}/places/${encodeURIComponent(place)}`, body);
      say(r.place.ends_at ? t("stayHere.saved", { name: r.place.name, time: formatTime(r.place.ends_at) })
        : t("stayHere.savedLasting", { name: r.place.name }));
      onSaved();
    } catch (err) {
      if (err.status === 401) return onUnauthorized();
      say(errorText(err), true);
    } finally {
      save.disabled = false;
    }
  });
  const el = h("section", { class: "card", id: "stay-here-card", dataset: { card: "section.stayHere" } },
    h("h3", null, t("section.stayHere")), muted("stayHere.intro"), form);
  return {
    el,
    // the position the stay would be recorded at, said under the form as the map moves
    show(at) {
      where.textContent = at ? t("stayHere.at", { lat: at.lat.toFixed(5), lon: at.lon.toFixed(5), time: formatTime(at.ts) }) : t("stays.noFix");
    },
  };
}
