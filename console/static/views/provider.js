// A service provider's staff: their organisation's tickets, the ones to act on first, each with
// the one step it needs next (Accept, Start visit, Finish visit). Starting and finishing a visit
// record where the phone is when the browser has a location and the person allows it; without
// one the step is taken all the same, with no location.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatTime } from "../clock.js";
import { errorText } from "../panel.js";
import { statusBadge, ticketFacts, typeLabel } from "./tickets.js";

const REFRESH_MS = 30_000;
const LOCATE_MS = 10_000; // a prompt left unanswered must not hold the visit up
const NEXT = {
  assigned: { action: "accept", label: "ticket.accept", located: false },
  accepted: { action: "start", label: "ticket.start", located: true },
  visit_started: { action: "finish", label: "ticket.finish", located: true },
};
const DONE = ["visit_finished", "rated", "cancelled"];

// {lat, lon}, or {} when there is no location to be had (no API, refused, too slow).
async function here() {
  if (!navigator.geolocation) return {};
  try {
    const state = (await navigator.permissions?.query({ name: "geolocation" }))?.state;
    if (state === "denied") return {};
  } catch {
    // No Permissions API: ask anyway.
  }
  return new Promise((resolve) => {
    const give = setTimeout(() => resolve({}), LOCATE_MS);
    navigator.geolocation.getCurrentPosition(
      (pos) => { clearTimeout(give); resolve({ lat: pos.coords.latitude, lon: pos.coords.longitude }); },
      () => { clearTimeout(give); resolve({}); },
      { enableHighAccuracy: true, timeout: LOCATE_MS, maximumAge: 60_000 });
  });
}

export function mountProvider(ctx) {
  const root = ctx.root;
  const heading = h("h2", { id: "provider-heading" }, t("ticket.providerHeading"));
  const active = h("div", { class: "provider-tickets", id: "provider-tickets" }, h("p", { class: "muted" }, t("detail.loading")));
  const done = h("div", { class: "provider-done" });
  root.replaceChildren(h("section", { class: "page provider", "aria-labelledby": "provider-heading" },
    h("div", { class: "page-head" }, heading), active, done));
  let tickets = [];
  let busy = null; // the ticket whose step is under way: not redrawn under the person's finger
  let stopped = false;

  async function load() {
    try {
      const data = await api("GET", "/api/v1/tickets");
      if (stopped) return;
      tickets = data.tickets ?? [];
      draw();
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      active.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(err)));
    }
  }

  function card(ticket) {
    const next = NEXT[ticket.status];
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const notes = ticket.status === "visit_started"
      ? h("textarea", { id: `finish-notes-${ticket.id}`, rows: 2, maxlength: 2000 }) : null;
    const button = next ? h("button", { type: "button", class: "primary", dataset: { action: next.action } }, t(next.label)) : null;
    button?.addEventListener("click", async () => {
      if (busy !== null) return;
      busy = ticket.id;
      button.disabled = true;
      error.hidden = true;
      try {
        let body;
        if (next.located) {
          button.textContent = t("ticket.locating");
          body = await here();
          if (notes?.value.trim()) body.notes = notes.value.trim();
        }
        button.textContent = t("ticket.busy");
        await api("POST", `/api/v1/tickets/${ticket.id}/${next.action}`, body);
        busy = null;
        await load();
      } catch (err) {
        busy = null;
        if (err.status === 401) return ctx.signedOut();
        error.textContent = errorText(err);
        error.hidden = false;
        button.disabled = false;
        button.textContent = t(next.label);
        if (err.status === 409 || err.status === 404) load(); // someone else moved it on
      }
    });
    return h("article", { class: "card ticket-card", dataset: { ticketId: ticket.id, status: ticket.status } },
      h("h3", null, typeLabel(ticket.type), " · ", t("ticket.number", { id: ticket.id }), " ", statusBadge(ticket)),
      h("p", { class: "muted small" }, formatTime(ticket.opened_at)),
      ticketFacts(ticket),
      notes ? h("div", { class: "field" }, h("label", { for: notes.id }, t("ticket.finishNotes")), notes) : null,
      error, button);
  }

  function draw() {
    if (busy !== null) return;
    const open = tickets.filter((tk) => NEXT[tk.status]);
    active.replaceChildren(...(open.length ? open.map(card) : [h("p", { class: "muted", id: "provider-none" }, t("ticket.none"))]));
    const finished = tickets.filter((tk) => DONE.includes(tk.status)).slice(0, 20);
    done.replaceChildren(...(finished.length ? [h("h3", null, t("ticket.filter.done")),
      h("ul", { class: "family-tickets" }, finished.map((tk) => h("li", { dataset: { ticketId: tk.id } },
        formatTime(tk.visit_finished_at ?? tk.cancelled_at ?? tk.opened_at), " · ", typeLabel(tk.type), " · ",
        tk.resident_name ?? tk.resident_id, " ", statusBadge(tk))))] : []));
  }

  const timer = setInterval(load, REFRESH_MS);
  load();
  return {
    helpKey: "ticket.providerHelp",
    onSnapshot: () => ctx.setWaiting(0),
    poll: load,
    retranslate() {
      heading.textContent = t("ticket.providerHeading");
      draw();
    },
    unmount() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
