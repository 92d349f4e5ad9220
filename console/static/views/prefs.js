// A family member's notification preferences: which messages (an alarm, "handled", a device of
// the elder's to see to), through which channels in which order (the first that delivers wins),
// and quiet hours. Saved with PUT.
import { api, optional } from "../api.js";
import { h } from "../dom.js";
import { t, label } from "../i18n.js";
import { errorText } from "../panel.js";
import { muted } from "../detail.js";

const KINDS = ["alarm", "handled", "device"];
const CHANNELS = ["sms", "email"];

export async function prefsForm(card, ctx) {
  let prefs;
  try {
    prefs = await optional("/api/v1/me/notification-prefs");
  } catch (err) {
    if (err.status === 401) return ctx.signedOut();
    prefs = null;
  }
  const heading = card.querySelector("h3");
  if (!prefs) return card.replaceChildren(heading, muted("detail.unavailable"));
  // Channels in the saved order, then any the server knows but the person has not chosen.
  let order = [...(prefs.channels ?? []), ...CHANNELS.filter((c) => !(prefs.channels ?? []).includes(c))];
  const enabled = new Set(prefs.channels ?? []);
  const kinds = KINDS.map((k) => {
    const box = h("input", { type: "checkbox", id: `pref-kind-${k}`, checked: (prefs.kinds ?? []).includes(k) });
    return { k, box, el: h("label", { class: "check", for: `pref-kind-${k}` }, box, t(`prefs.kind.${k}`)) };
  });
  const channelList = h("ol", { class: "channel-order", id: "pref-channels" });
  const quietStart = h("input", { type: "time", id: "pref-quiet-start", value: prefs.quiet_start ?? "" });
  const quietEnd = h("input", { type: "time", id: "pref-quiet-end", value: prefs.quiet_end ?? "" });
  const message = h("p", { id: "prefs-message", role: "status", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary", id: "prefs-save" }, t("prefs.save"));

  function drawChannels() {
    channelList.replaceChildren(...order.map((c, i) => {
      const box = h("input", { type: "checkbox", id: `pref-ch-${c}`, checked: enabled.has(c),
        onchange: (e) => (e.target.checked ? enabled.add(c) : enabled.delete(c)) });
      const move = (d) => {
        const j = i + d;
        if (j < 0 || j >= order.length) return;
        [order[i], order[j]] = [order[j], order[i]];
        order = [...order];
        drawChannels();
      };
      return h("li", null,
        h("label", { class: "check", for: `pref-ch-${c}` }, box, label("channel", c)),
        h("button", { type: "button", class: "small", disabled: i === 0, "aria-label": t("prefs.up", { channel: label("channel", c) }), onclick: () => move(-1) }, "↑"),
        h("button", { type: "button", class: "small", disabled: i === order.length - 1, "aria-label": t("prefs.down", { channel: label("channel", c) }), onclick: () => move(1) }, "↓"));
    }));
  }

  const form = h("form", { class: "prefs", id: "prefs-form", novalidate: true },
    h("fieldset", null, h("legend", null, t("prefs.kinds")), kinds.map((k) => k.el)),
    h("fieldset", null, h("legend", null, t("prefs.channels")), channelList),
    h("fieldset", { class: "quiet" }, h("legend", null, t("prefs.quiet")),
      h("label", { for: "pref-quiet-start" }, t("prefs.from")), quietStart,
      h("label", { for: "pref-quiet-end" }, t("prefs.to")), quietEnd),
    save, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    message.className = "";
    message.textContent = t("prefs.saving");
    const body = {
      kinds: kinds.filter((k) => k.box.checked).map((k) => k.k),
      channels: order.filter((c) => enabled.has(c)),
      quiet_start: quietStart.value || null,
      quiet_end: quietEnd.value || null,
    };
    try {
      await api("PUT", "/api/v1/me/notification-prefs", body);
      message.textContent = t("prefs.saved");
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      message.className = "error";
      message.textContent = errorText(err);
    } finally {
      save.disabled = false;
    }
  });
  drawChannels();
  card.replaceChildren(heading, form);
}
