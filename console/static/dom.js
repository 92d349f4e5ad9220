// A tiny element builder. Every piece of server data reaches the page through textContent or
// setAttribute, never innerHTML, so a resident called "<img onerror=...>" is just a name.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

// replaceChildren as h() fills an element: null, undefined and false are left out (the DOM's
// own replaceChildren writes them as the text "null").
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

// A phone number as something a tablet or a softphone can dial directly.
export function telLink(phone) {
  if (!phone) return null;
  const dialable = String(phone).replace(/[^\d+]/g, "");
  return h("a", { href: `tel:${dialable}`, class: "tel" }, String(phone));
}
