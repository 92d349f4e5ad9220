// The civil-affairs view (bureau and grid staff): the part of the grid in the user's scope, and
// three tabs over it — the resident register with health records, everyday service tickets, and
// reports rolled up the tree. Each tab is its own module with the same small interface:
// mountX(ctx, el, node) → { show(node), retranslate(), unmount() }, where node is the grid node
// chosen in the tree (the user's own scope node at first).
import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { errorText } from "../panel.js";
import { mountRegister } from "./register.js";
import { mountTickets } from "./tickets.js";
import { mountReports } from "./reports.js";

const TABS = [
  { key: "register", label: "civil.tab.register", mount: mountRegister },
  { key: "tickets", label: "civil.tab.tickets", mount: mountTickets },
  { key: "reports", label: "civil.tab.reports", mount: mountReports },
];

// The grid as an indented list: a node per row, children under their parent.
function treeList(nodes, chosen, choose) {
  return h("ul", { class: "org-tree", role: "tree" }, nodes.map((n) =>
    h("li", { role: "treeitem", "aria-selected": n.id === chosen ? "true" : "false",
              dataset: { node: n.id, level: n.level },
              style: `padding-inline-start: ${(n.path.length - 1) * 1.2}em` },
      h("button", { type: "button", class: ["link", n.id === chosen ? "chosen" : null],
                    onclick: () => choose(n.id) },
        h("span", { class: "org-level" }, t(`org.level.${n.level}`)), " ", n.name))));
}

export function mountCivil(ctx) {
  const root = ctx.root;
  const treeEl = h("nav", { class: "civil-tree", "aria-label": t("civil.tree") });
  const tabBar = h("div", { class: "tabs", role: "tablist" });
  const body = h("section", { class: "civil-body" });
  root.replaceChildren(h("div", { class: "civil" }, treeEl, h("div", { class: "civil-main" }, tabBar, body)));

  let nodes = [];
  let chosen = ctx.user.scope_node ?? null;
  let active = TABS[0];
  let mounted = null;
  let stopped = false;

  function drawTree() {
    treeEl.replaceChildren(h("h2", null, t("civil.tree")), treeList(nodes, chosen, choose));
  }

  function drawTabs() {
    tabBar.replaceChildren(...TABS.map((tab) => h("button", {
      type: "button", role: "tab", class: ["tab", tab === active ? "active" : null],
      "aria-selected": tab === active ? "true" : "false", dataset: { tab: tab.key },
      onclick: () => open(tab),
    }, t(tab.label))));
  }

  function open(tab) {
    mounted?.unmount?.();
    active = tab;
    drawTabs();
    body.replaceChildren();
    mounted = tab.mount(ctx, body, chosen);
  }

  function choose(nodeId) {
    chosen = nodeId;
    drawTree();
    mounted?.show?.(chosen);
  }

  (async () => {
    try {
      const tree = await api("GET", "/api/v1/org");
      if (stopped) return;
      nodes = tree.nodes;
      chosen = chosen ?? tree.root ?? nodes[0]?.id ?? null;
      drawTree();
      open(active);
    } catch (err) {
      if (err.status === 401) return ctx.signedOut();
      treeEl.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  })();

  return {
    helpKey: "civil.help",
    retranslate() { drawTree(); drawTabs(); mounted?.retranslate?.(); },
    unmount() { stopped = true; mounted?.unmount?.(); },
  };
}
