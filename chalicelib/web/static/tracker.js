// The order tracker: status, progress, chart and timeline of one order, live.
import {
  ApiError, activePaths, api, loadMermaid, connectionWords, drawChart, follow, historyRows, markDrawn,
  say, signIn, takeTokenFromFragment, token,
} from "./console.js";

const $ = (id) => document.getElementById(id);
const orderId = decodeURIComponent(window.location.pathname.split("/").pop());
const STEPS = [
  ["orderPizza", "Ordering"],
  ["bakePizza", "In the kitchen"],
  ["deliverPizza", "Out for delivery"],
  ["done", "Delivered"],
];
const STOPPED = new Set(["compensating", "cancellingDelivery", "cancelled"]);

let chartText = null;
let shown = null; // the view on screen
let transitions = [];
let refreshing = Promise.resolve();

function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

function topState(value) {
  return typeof value === "string" ? value : Object.keys(value || {})[0];
}

function drawProgress(view) {
  const top = topState(view.state);
  const stopped = STOPPED.has(top);
  const at = STEPS.findIndex(([state]) => state === top);
  $("progress").replaceChildren(
    ...STEPS.map(([, label], i) => {
      const step = document.createElement("li");
      step.textContent = label;
      if (i < at || (view.done && i === at)) step.className = "passed";
      if (i === at && !view.done) step.setAttribute("aria-current", "step");
      return step;
    }),
  );
  if (stopped) {
    const step = document.createElement("li");
    step.className = "stopped";
    step.textContent = top === "cancelled" ? "Cancelled" : "Cancelling";
    step.setAttribute("aria-current", "step");
    $("progress").append(step);
  }
}

/** Draw a view at once (status, progress, pizzas, buttons); the chart and the timeline
 * follow once the history is read. A view older than the one shown is ignored. */
function drawView(view) {
  if (shown && view.version < shown.version) return;
  shown = view;
  $("order").hidden = false;
  $("status").textContent = view.status;
  $("status").dataset.version = view.version;
  drawProgress(view);
  $("items").replaceChildren(
    ...view.items.map((item) => {
      const line = document.createElement("li");
      line.textContent = `${item.name}, ${item.size}: ${item.toppings.join(", ") || "no toppings"}`;
      return line;
    }),
  );
  $("cancel").disabled = !view.nextEvents.includes("CANCEL_ORDER");
  markDrawn(view.version);
  refreshing = refreshing.then(() => refreshHistory(view.version));
}

async function refreshHistory(version) {
  if (shown.version !== version) return; // a newer view is on its way
  try {
    transitions = (await api("GET", `/orders/${encodeURIComponent(orderId)}/history`)).transitions;
  } catch (error) {
    showError(error);
  }
  historyRows($("timeline"), transitions);
  const visited = transitions.flatMap((t) => [t.from, t.to].filter(Boolean));
  await drawChart($("chart"), chartText, activePaths(shown.state), visited);
  performance.mark(`chart:v${shown.version}`);
}

async function cancel() {
  say($("error"), "");
  try {
    drawView(await api("POST", `/orders/${encodeURIComponent(orderId)}/cancel`, {}));
  } catch (error) {
    showError(error);
  }
}

async function start() {
  if (!token()) {
    say($("error"), "Sign in (top right) to see this order.");
    return;
  }
  say($("error"), "");
  try {
    const [workflow, view] = await Promise.all([
      api("GET", "/workflows/order"),
      api("GET", `/orders/${encodeURIComponent(orderId)}`),
    ]);
    chartText = workflow.mermaid;
    drawView(view);
    loadMermaid().catch(showError); // the order is on screen: now the chart renderer
  } catch (error) {
    showError(error);
    return;
  }
  follow("order", orderId, drawView, (status) => {
    $("connection").textContent = connectionWords(status);
    $("connection").dataset.status = status;
  });
}

takeTokenFromFragment();
$("order-id").textContent = orderId.slice(0, 8);
$("cancel").addEventListener("click", cancel);
signIn($("sign-in"), start).catch(showError);
start();
