// The operator's workspace: the live queue of waiting incidents (#queue), "my active incidents"
// (#mine), those in other hands (#others: colleagues', and the families' who said they are
// going, so a second call about the same elder finds who is on it) and the incident panel
// (#detail), with the keyboard shortcuts of the help line.
import { api } from "../api.js";
import { IncidentPanel } from "../panel.js";
import { QueueView, byUrgency, isWaiting } from "../queue.js";
import * as sound from "../beep.js";
import { serviceCallForm } from "./tickets.js";

const ACTIVE = new Set(["claimed", "in_progress", "dispatched", "on_site"]);
const $ = (id) => document.getElementById(id);

export function mountOperator(ctx) {
  const state = {
    incidents: new Map(), // id -> open incident (resolved ones are dropped)
    firstAlarm: new Map(), // incident id -> lowest alarm id seen, for servers without first_alarm_id
    seen: new Set(), // incident ids shown this session, so only genuinely new ones beep
    firstSync: true, // what greets a sign-in is not "new" and does not beep
    selectedId: null,
  };
  $("console-view").hidden = false;
  // Everyday service calls (a meal, a repair) are logged here but never join the emergency queue.
  const serviceCall = serviceCallForm(ctx);
  document.querySelector("#console-view .queue-pane").append(serviceCall.el);
  const queue = new QueueView({
    lists: { waiting: $("queue"), mine: $("mine"), others: $("others") }, me: ctx.user.username,
    onOpen: (id) => open(id),
  });
  const panel = new IncidentPanel({
    root: $("detail"), me: ctx.user, onUnauthorized: ctx.signedOut,
    onChange: (incident) => apply([incident]),
  });

  function lists() {
    const all = [...state.incidents.values()];
    // Maintenance work (a flat battery) is the care homes' and admins', not a call to answer.
    const waiting = all.filter((i) => isWaiting(i) && i.route !== "maintenance").sort(byUrgency);
    const mine = all.filter((i) => ACTIVE.has(i.status) && i.claimed_by === ctx.user.username).sort(byUrgency);
    const others = all.filter((i) => ACTIVE.has(i.status) && i.claimed_by !== ctx.user.username
      && i.route !== "maintenance").sort(byUrgency);
    return { waiting, mine, others };
  }

  function render() {
    const { waiting, mine, others } = lists();
    queue.render({ waiting, mine, others }, { selectedId: state.selectedId, openId: panel.id });
    $("others-count").textContent = `(${others.length})`;
    $("others-empty").hidden = others.length > 0;
    for (const [id, alarmId] of state.firstAlarm) queue.setAlarmId(id, alarmId);
    ctx.setWaiting(waiting.length);
    $("queue-empty").hidden = waiting.length > 0;
    $("mine-empty").hidden = mine.length > 0;
  }

  function apply(incidents) {
    const fresh = [];
    for (const inc of incidents) {
      if (!state.seen.has(inc.id) && isWaiting(inc) && !state.firstSync && inc.route !== "maintenance") fresh.push(inc);
      state.seen.add(inc.id);
      if (inc.status === "resolved") state.incidents.delete(inc.id);
      else state.incidents.set(inc.id, inc);
      if (inc.id === panel.id) panel.update(inc);
    }
    render();
    if (fresh.length) {
      for (const inc of fresh) queue.flash(inc.id);
      sound.beep(fresh.some((i) => Number(i.priority) === 1) ? 3 : 1);
    }
  }

  // A snapshot is the whole truth: anything no longer listed was handled while we were away.
  async function snapshot(alarms, incidents) {
    noteAlarms(alarms);
    let list = incidents;
    if (list === null) {
      try {
        list = (await api("GET", "/api/v1/incidents?status=open")).incidents ?? [];
      } catch (err) {
        if (err.status === 401) return ctx.signedOut();
        return;
      }
    }
    state.incidents.clear();
    apply(list);
    state.firstSync = false;
  }

  function noteAlarms(alarms) {
    for (const a of alarms) {
      if (a.incident_id == null) continue;
      const known = state.firstAlarm.get(a.incident_id);
      if (known === undefined || a.id < known) state.firstAlarm.set(a.incident_id, a.id);
    }
  }

  function open(id) {
    const inc = state.incidents.get(id);
    if (!inc) return;
    state.selectedId = id;
    panel.open(inc);
    render();
  }

  function close() {
    panel.close();
    render();
  }

  function claimSelected() {
    const id = panel.id ?? state.selectedId;
    const inc = state.incidents.get(id);
    if (!inc || !isWaiting(inc)) return;
    if (panel.id !== id) panel.open(inc).then(() => panel.step("claim"));
    else panel.step("claim");
  }

  function move(step) {
    const { waiting, mine } = lists();
    const ids = [...waiting, ...mine].map((i) => i.id);
    if (ids.length === 0) return;
    const at = ids.indexOf(state.selectedId);
    const next = at < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.min(Math.max(at + step, 0), ids.length - 1);
    state.selectedId = ids[next];
    render();
    queue.focus(state.selectedId);
  }

  // Keys work anywhere except while typing; a focused button keeps its own Enter.
  function onKey(event) {
    const target = event.target;
    if (event.key === "Escape") {
      if (panel.id !== null) {
        event.preventDefault();
        close();
        if (state.selectedId !== null) queue.focus(state.selectedId);
      }
      return;
    }
    if (target.closest?.("input, textarea, select, [contenteditable]")) return;
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      c: claimSelected,
      a: claimSelected, // the old "acknowledge" key, kept for operators' fingers
      n: () => {
        const first = lists().waiting[0];
        if (first) open(first.id);
        if (first) queue.focus(first.id);
      },
      Enter: () => state.selectedId !== null && open(state.selectedId),
    };
    if (event.key === "Enter" && target.closest?.("button, a")) return;
    const fn = actions[event.key];
    if (!fn) return;
    event.preventDefault();
    fn();
  }

  // Fallback polling when the socket is down (see app.js); same truth as a snapshot.
  async function poll() {
    try {
      const data = await api("GET", "/api/v1/incidents?status=open");
      await snapshot([], data.incidents ?? []);
    } catch (err) {
      if (err.status === 401) ctx.signedOut();
    }
  }

  render();
  return {
    onSnapshot: snapshot,
    onAlarm: (alarm) => {
      noteAlarms([alarm]);
      render();
    },
    onIncident: (inc) => apply([inc]),
    onKey,
    poll,
    tick: () => queue.tick(),
    retranslate: () => {
      serviceCall.retranslate();
      queue.rows.forEach((row) => (row.key = null)); // rebuild rows in the new language
      render();
      const inc = panel.incident;
      if (inc) panel.open(inc);
      else panel.close();
    },
    unmount: () => {
      serviceCall.unmount();
      panel.close();
      state.incidents.clear();
      render();
      $("console-view").hidden = true;
    },
    helpKey: "help.keys",
  };
}
