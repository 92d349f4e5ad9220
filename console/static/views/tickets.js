// Everyday service tickets (meal, housekeeping, repair, companionship, medical escort): the
// civil-affairs tab (mountTickets, used by views/civil.js), the operator's "log a service call"
// form (serviceCallForm), the family's card with the rating (familyTickets), and the pieces the
// provider's view shares (views/provider.js). The server decides who may see and do what; the
// buttons shown here only follow the same table (alerts/services.py) so nobody is offered a
// step that would be refused.
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatTime } from "../clock.js";
import { errorText } from "../panel.js";

export const TYPES = ["meal", "housekeeping", "repair", "companionship", "medical_escort", "other"];
const CHANGEABLE = ["open", "assigned", "accepted"]; // assign again or cancel
const FILTERS = {
  all: [],
  open: ["open"],
  active: ["assigned", "accepted", "visit_started"],
  done: ["visit_finished", "rated", "cancelled"],
};
const REFRESH_MS = 30_000;

export const typeLabel = (type) => t(`ticket.type.${type}`);

export function statusBadge(ticket) {
  return h("span", { class: "badge ticket-status", dataset: { status: ticket.status } },
    t(`ticket.status.${ticket.status}`));
}

function field(id, labelKey, control) {
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, t(labelKey)), control);
}

function options(values, labelOf, chosen) {
  return values.map((v) => h("option", { value: v, selected: v === chosen }, labelOf(v)));
}

// A form that posts one step; the error (if any) is shown in it, and done() gets the answer.
function stepForm({ name, submitKey, fields, send, done }) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary small" }, t(submitKey));
  const form = h("form", { class: "record-form ticket-form", dataset: { form: name } },
    h("div", { class: "fields" }, fields), error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    submit.textContent = t("ticket.busy");
    error.hidden = true;
    try {
      done(await send());
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = t(submitKey);
    }
  });
  return form;
}

const post = (ticket, action, body) =>
  api("POST", `/api/v1/tickets/${ticket.id}/${action}`, body);

export function rateForm(ticket, done) {
  const rating = h("select", { name: "rating" }, [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, String(n))));
  const comment = h("input", { name: "comment", maxlength: 2000 });
  return stepForm({
    name: "rate", submitKey: "ticket.rate", done,
    fields: [field(`rate-${ticket.id}`, "ticket.rating", rating), field(`comment-${ticket.id}`, "ticket.comment", comment)],
    send: () => post(ticket, "rate", { rating: Number(rating.value), comment: comment.value.trim() }),
  });
}

function cancelForm(ticket, done) {
  const reason = h("input", { name: "reason", required: true, maxlength: 500 });
  return stepForm({
    name: "cancel", submitKey: "ticket.cancel", done,
    fields: [field(`reason-${ticket.id}`, "ticket.cancelReason", reason)],
    send: () => post(ticket, "cancel", { reason: reason.value.trim() }),
  });
}

function assignForm(ticket, providers, done) {
  const fit = providers.filter((p) => p.active && p.types.includes(ticket.type));
  const choice = h("select", { name: "provider_id" },
    fit.map((p) => h("option", { value: p.id, selected: p.id === ticket.provider_id }, p.name)));
  return stepForm({
    name: "assign", submitKey: "ticket.assign", done,
    fields: [field(`assign-${ticket.id}`, "ticket.assignTo", choice)],
    send: () => post(ticket, "assign", { provider_id: choice.value }),
  });
}

function place(lat, lon) {
  return lat === null || lat === undefined ? null : `${Number(lat).toFixed(5)}, ${Number(lon).toFixed(5)}`;
}

function stepText(step) {
  const d = step.details ?? {};
  return [
    d.provider_id ?? null,
    d.rating ? t("ticket.ratedAs", { rating: d.rating }) : null,
    d.reason ?? null,
    d.notes ?? null,
    d.comment || null,
    place(d.lat, d.lon),
  ].filter(Boolean).join(" · ");
}

export function timelineList(steps) {
  return h("ol", { class: "timeline ticket-timeline" }, steps.map((s) => h("li", { dataset: { action: s.action } },
    h("time", { datetime: s.at }, formatTime(s.at)),
    h("span", { class: "step" }, t(`ticket.action.${s.action}`)),
    h("span", { class: "actor" }, s.actor),
    stepText(s) ? h("span", { class: "step-extra" }, stepText(s)) : null)));
}

const DONE_STATUSES = ["visit_finished", "rated", "cancelled"];

// What a ticket says about itself, for every role that sees it.
export function ticketFacts(ticket) {
  const visit = [ticket.visit_started_at, ticket.visit_finished_at].filter(Boolean).map(formatTime).join(" – ");
  return h("dl", { class: "ticket-facts" },
    h("dt", null, t("ticket.col.resident")), h("dd", { class: "resident" }, ticket.resident_name ?? ticket.resident_id),
    h("dt", null, t("ticket.address")), h("dd", null, ticket.address || t("none")),
    h("dt", null, t("ticket.col.source")), h("dd", null, t(`ticket.source.${ticket.source}`)),
    h("dt", null, t("ticket.col.provider")), h("dd", null, ticket.provider_name ?? t("ticket.status.open")),
    ticket.requested_for ? [h("dt", null, t("ticket.requestedFor")), h("dd", null, formatTime(ticket.requested_for))] : null,
    // on a stay (a family's "Mum is with me until Sunday") when the visit is wanted: nobody is in
    ticket.away_at && !DONE_STATUSES.includes(ticket.status) ? [h("dt", null, t("ticket.away")),
      h("dd", { class: "away" }, t("ticket.awayText", { place: ticket.away_at, until: formatTime(ticket.away_until) }))] : null,
    ticket.notes ? [h("dt", null, t("ticket.notes")), h("dd", { class: "notes" }, ticket.notes)] : null,
    visit ? [h("dt", null, t("ticket.visit")), h("dd", null, visit)] : null,
    ticket.rating ? [h("dt", null, t("ticket.rate")), h("dd", null, t("ticket.ratedAs", { rating: ticket.rating }), ticket.rating_comment ? ` · ${ticket.rating_comment}` : "")] : null);
}

function ticketTable(tickets, chosenId, choose) {
  if (tickets.length === 0) return h("p", { class: "muted" }, t("ticket.none"));
  return h("div", { class: "table-wrap" }, h("table", { class: "grid-table tickets" },
    h("thead", null, h("tr", null, ["ticket.col.opened", "ticket.col.resident", "ticket.col.type", "ticket.col.status", "ticket.col.provider"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", null, tickets.map((tk) => h("tr", { dataset: { ticketId: tk.id }, class: tk.id === chosenId ? "chosen" : null },
      h("td", null, h("button", { type: "button", class: "link", onclick: () => choose(tk.id) }, formatTime(tk.opened_at))),
      h("td", null, tk.resident_name ?? tk.resident_id),
      h("td", null, typeLabel(tk.type)),
      h("td", null, statusBadge(tk)),
      h("td", null, tk.provider_name ?? "—"))))));
}

// The civil-affairs tab: the tickets of the chosen grid node, one opened with its history and,
// for grid staff, the steps they may take (assign, cancel, record the elder's rating by phone).
export function mountTickets(ctx, el, node) {
  const staff = ctx.user.role === "grid_staff";
  const filter = h("select", { id: "ticket-filter" }, Object.keys(FILTERS).map((k) => h("option", { value: k }, t(`ticket.filter.${k}`))));
  const heading = h("h3", null, t("ticket.heading"));
  const list = h("div", { class: "ticket-list" });
  const detail = h("div", { class: "ticket-detail" });
  const call = staff ? serviceCallForm(ctx, () => load()) : null;
  el.replaceChildren(h("div", { class: "tickets-tab" },
    h("div", { class: "page-head" }, heading, filter, call?.el), list, detail));
  let current = node;
  let tickets = [];
  let chosen = null;
  let providers = null;
  let stopped = false;

  async function load() {
    const params = new URLSearchParams();
    if (current) params.append("node", current);
    for (const s of FILTERS[filter.value]) params.append("status", s);
    try {
      const data = await api("GET", `/api/v1/tickets?${params}`);
      if (stopped) return;
      tickets = data.tickets ?? [];
      drawList();
      if (chosen !== null) open(chosen);
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      list.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  }

  function drawList() {
    list.replaceChildren(ticketTable(tickets, chosen, open));
  }

  async function open(id) {
    chosen = id;
    drawList();
    try {
      const [data, known] = await Promise.all([
        api("GET", `/api/v1/tickets/${id}`),
        staff && providers === null ? api("GET", "/api/v1/providers") : null]);
      if (known) providers = known.providers ?? [];
      if (stopped || chosen !== id) return;
      drawDetail(data.ticket, data.timeline ?? []);
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      detail.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  }

  function drawDetail(ticket, steps) {
    const after = () => load();
    const forms = !staff ? [] : [
      CHANGEABLE.includes(ticket.status) ? assignForm(ticket, providers ?? [], after) : null,
      CHANGEABLE.includes(ticket.status) ? cancelForm(ticket, after) : null,
      ticket.status === "visit_finished" ? rateForm(ticket, after) : null,
    ];
    detail.replaceChildren(h("section", { class: "card", dataset: { ticketId: ticket.id } },
      h("h3", null, t("ticket.number", { id: ticket.id }), " · ", typeLabel(ticket.type), " ", statusBadge(ticket)),
      ticket.status === "open" ? h("p", { class: "warn" }, t("ticket.unrouted")) : null,
      ticketFacts(ticket), forms,
      h("h4", null, t("ticket.timeline")), timelineList(steps)));
  }

  filter.addEventListener("change", () => load());
  const timer = setInterval(load, REFRESH_MS);
  load();
  return {
    show(next) { current = next; chosen = null; detail.replaceChildren(); load(); },
    retranslate() {
      heading.textContent = t("ticket.heading");
      for (const option of filter.options) option.textContent = t(`ticket.filter.${option.value}`);
      call?.retranslate();
      drawList();
      if (chosen !== null) open(chosen);
    },
    unmount() { stopped = true; clearInterval(timer); call?.unmount(); },
  };
}

// "Log a service call": the elder (searched by name or id within the user's scope), the
// service and notes. The answer says where the ticket went.
export function serviceCallForm(ctx, opened = () => {}) {
  const el = h("div", { class: "service-call" });
  let residents = [];
  let searching = 0;

  function search(who, found) {
    const q = who.value.trim();
    const mine = ++searching;
    if (q.length < 1) return;
    setTimeout(async () => {
      if (mine !== searching) return; // a later keystroke searches instead
      try {
        const data = await api("GET", `/api/v1/me/residents?q=${encodeURIComponent(q)}`);
        if (mine !== searching) return;
        residents = (data.residents ?? []).slice(0, 20);
        found.replaceChildren(...residents.map((r) => h("option", { value: r.id }, `${r.name} · ${r.id}`)));
      } catch (err) {
        if (err.status === 401) ctx.signedOut();
      }
    }, 250);
  }

  function build(expanded) {
    const toggle = h("button", { type: "button", class: "small", id: "service-call-toggle", "aria-expanded": String(expanded) }, t("ticket.logCall"));
    const who = h("input", { name: "resident", list: "service-call-residents", autocomplete: "off", required: true });
    const found = h("datalist", { id: "service-call-residents" });
    const type = h("select", { name: "type" }, options(TYPES, typeLabel, "meal"));
    const notes = h("textarea", { name: "notes", rows: 2, maxlength: 2000 });
    const result = h("p", { class: "status-line", role: "status" });
    const form = stepForm({
      name: "service-call", submitKey: "ticket.submit",
      fields: [field("service-call-resident", "ticket.resident", who), found,
        field("service-call-type", "ticket.type", type), field("service-call-notes", "ticket.notes", notes)],
      send: async () => {
        const text = who.value.trim();
        const hit = residents.find((r) => r.id === text) ?? residents.find((r) => r.name === text);
        const residentId = hit?.id ?? text;
        if (!residentId) throw Object.assign(new Error("no resident"), { detail: t("ticket.noResident") });
        return api("POST", "/api/v1/tickets", { resident_id: residentId, type: type.value, notes: notes.value.trim() });
      },
      done: (data) => {
        const tk = data.ticket;
        result.textContent = tk.provider_name
          ? t("ticket.openedTo", { id: tk.id, provider: tk.provider_name })
          : t("ticket.openedUnrouted", { id: tk.id });
        who.value = "";
        notes.value = "";
        opened(tk);
      },
    });
    form.id = "service-call-form";
    form.hidden = !expanded;
    who.addEventListener("input", () => search(who, found));
    toggle.addEventListener("click", () => {
      form.hidden = !form.hidden;
      toggle.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) who.focus();
    });
    el.replaceChildren(toggle, form, result);
  }

  build(false);
  return {
    el,
    retranslate: () => build(el.querySelector("form")?.hidden === false),
    unmount: () => el.remove(),
  };
}

// The family's card: the elder's tickets, newest first, and the rating once a visit is done.
// It keeps itself while a rating is being written (the page refreshes every minute).
export function familyTickets(ctx) {
  const el = h("section", { class: "card", dataset: { card: "tickets" }, id: "family-tickets" },
    h("h3", null, t("ticket.heading")), h("p", { class: "muted" }, t("detail.loading")));
  let resident = null;

  async function load(residentId) {
    if (residentId === resident && el.contains(document.activeElement) && document.activeElement !== document.body) return;
    resident = residentId;
    try {
      const data = await api("GET", "/api/v1/tickets");
      if (resident !== residentId) return;
      draw((data.tickets ?? []).filter((tk) => tk.resident_id === residentId).slice(0, 10));
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      el.replaceChildren(h("h3", null, t("ticket.heading")), h("p", { class: "error" }, errorText(err)));
    }
  }

  function draw(tickets) {
    el.replaceChildren(h("h3", null, t("ticket.heading")), tickets.length === 0
      ? h("p", { class: "muted" }, t("ticket.none"))
      : h("ul", { class: "family-tickets" }, tickets.map((tk) => h("li", { dataset: { ticketId: tk.id } },
        h("span", null, formatTime(tk.opened_at), " · ", typeLabel(tk.type), " · "), statusBadge(tk),
        tk.provider_name ? h("span", { class: "muted" }, ` ${tk.provider_name}`) : null,
        tk.rating ? h("span", null, ` · ${t("ticket.ratedAs", { rating: tk.rating })}`) : null,
        tk.status === "visit_finished" ? rateForm(tk, () => { resident = null; load(tk.resident_id); }) : null))));
  }

  return { el, load };
}
