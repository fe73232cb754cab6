// The order tracker: status, progress, chart and timeline of one order, live.
import {
  ApiError, BASE, activePaths, api, clockTime, connectionWords, drawChart, follow, markDrawn,
  money, pizzaWords, say, signIn, takeTokenFromFragment, token, who,
} from "./console.js";
import { pizzaProgress, progressSummary } from "./pizzas.js";
import { pathsOfKey, stepFacts, stepper } from "./travel.js";

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
let historyOf = null; // the version whose history was read (a pizza's push keeps it)
let pizzas = []; // each pizza's progress as shown (pizzas.js)
let transitions = [];
let timeline = []; // the same steps in the customer's words
let refreshing = Promise.resolve();
let complaint = null; // the complaint's newest view (or its summary from the order's view)
let complaintFollower = null;
let complaintChecked = false; // the order's complaint (or that it has none) is known

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
  drawPizzas(view);
  $("total").textContent = `Total: ${money(view.totalCents)}`;
  for (const limit of document.querySelectorAll(".refund-limit")) {
    limit.textContent = `A refund is at most the order's total, ${money(view.totalCents)}.`;
  }
  $("cancel").disabled = !view.nextEvents.includes("CANCEL_ORDER");
  drawComplaintPanel(view);
  markDrawn(view.version);
  if (view.version === historyOf) return; // a pizza moved on: the order itself did not
  historyOf = view.version;
  refreshing = refreshing.then(() => refreshHistory(view.version));
}

/** The order's pizzas, each with its price and, once the order bakes them one by one
 * (version 3), where it is: waiting for an oven, in the oven, baked, could not be baked
 * (with the reason) or stopped. A pizza's own commit pushes the order's view. */
function drawPizzas(view) {
  pizzas = pizzaProgress(view, pizzas);
  const progress = new Map(pizzas.map((p) => [p.itemId, p]));
  $("items").replaceChildren(
    ...view.items.map((item) => {
      const line = document.createElement("li");
      line.dataset.item = item.itemId;
      const words = document.createElement("span");
      words.textContent = pizzaWords(item);
      const price = document.createElement("span");
      price.className = "price";
      price.textContent = money(item.priceCents);
      const where = progress.get(item.itemId);
      if (where) {
        const mark = document.createElement("span");
        mark.className = "pizza-progress";
        mark.dataset.progress = where.progress;
        mark.textContent = where.words;
        line.append(words, mark, price);
      } else {
        line.append(words, price);
      }
      return line;
    }),
  );
  $("pizza-summary").textContent = progressSummary(pizzas);
  $("pizza-summary").hidden = !pizzas.length;
}

async function refreshHistory(version) {
  if (shown.version !== version) return; // a newer view is on its way
  try {
    ({ transitions, timeline } = await api("GET", `/orders/${encodeURIComponent(orderId)}/history`));
  } catch (error) {
    showError(error);
  }
  drawTimeline();
  travel.show(timeline.length);
  if (travel.travelling !== null) return drawStep(travel.travelling);
  await drawLive();
  performance.mark(`chart:v${shown.version}`);
}

async function drawLive() {
  $("step-facts").hidden = true;
  for (const line of $("timeline").querySelectorAll("li.picked")) line.classList.remove("picked");
  const visited = transitions.flatMap((t) => [t.from, t.to].filter(Boolean));
  await drawChart($("chart"), chartText, activePaths(shown.state), visited);
}

/** The order as it was at the customer's step `i`: its state on the chart, the
 * transition taken, what happened and the status then. */
async function drawStep(i) {
  const line = timeline[i];
  const t = transitions.find((one) => one.version === line.version);
  if (!t) return;
  const visited = transitions.filter((one) => one.version <= t.version).flatMap((one) => [one.from, one.to].filter(Boolean));
  for (const item of $("timeline").querySelectorAll("li")) {
    item.classList.toggle("picked", item.dataset.version === String(line.version));
  }
  const { time, ...payload } = t.event || {};
  $("step-facts").hidden = false;
  stepFacts($("step-facts"), [
    ["step", `${i + 1} of ${timeline.length}, at ${clockTime(line.time).slice(0, 8)}`],
    ["what happened", line.said],
    ["status then", line.status || ""],
    ["event", payload],
  ]);
  await drawChart($("chart"), chartText, pathsOfKey(t.to), visited, {
    from: t.from, to: t.to, type: t.eventType, version: t.version,
  });
}

const travel = stepper($("travel"), (i) => drawStep(i).catch(showError), () => drawLive().catch(showError));

/** The customer's timeline: when, and what happened in their words. */
function drawTimeline() {
  $("timeline").replaceChildren(
    ...timeline.map((line) => {
      const item = document.createElement("li");
      item.dataset.version = line.version;
      const at = document.createElement("time");
      at.dateTime = line.time;
      at.textContent = clockTime(line.time).slice(0, 8);
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = "step";
      pick.append(at, ` ${line.said}`);
      pick.addEventListener("click", () => travel.pick(timeline.indexOf(line)));
      item.append(pick);
      return item;
    }),
  );
}

async function cancel() {
  say($("error"), "");
  try {
    drawView(await api("POST", `/orders/${encodeURIComponent(orderId)}/cancel`, {}));
  } catch (error) {
    showError(error);
  }
}

// -- the complaint about a delivered order -------------------------------------------------

const COMPLAINT_WORDS = {
  handling: "being handled",
  refunding: "approved: refund under way",
  refunded: "refunded",
  givingUp: "refund failed: checking none is still on its way",
  refundFailed: "refund failed",
  rejected: "rejected",
  withdrawn: "withdrawn",
  closed: "closed",
};

/** Where the complaint is, in words ("State: being handled (waiting for your answer)"). */
function complaintWords(state) {
  const top = topState(state);
  const paths = activePaths(state);
  let words = COMPLAINT_WORDS[top] || top;
  if (paths.includes("handling.conversation.awaitingCustomer")) words += " (waiting for your answer)";
  else if (paths.includes("handling.review.active.escalated")) words += " (a manager is looking into it)";
  return words;
}

/** The complaint panel, for a delivered order: the form to open one, or the complaint. */
function drawComplaintPanel(view) {
  if (view.state !== "done") return;
  $("complaint").hidden = false;
  if (view.complaint !== undefined) complaintChecked = true;
  if (view.complaint && (!complaint || view.complaint.version > complaint.version)) {
    drawComplaint({ ...view.complaint, nextEvents: complaint?.nextEvents || [] });
  }
  if (!complaintChecked) {
    // a pushed view does not say whether the order has a complaint: its HTTP view does
    complaintChecked = true;
    api("GET", `/orders/${encodeURIComponent(orderId)}`).then(drawView, showError);
    return;
  }
  const staff = who()?.roles.some((role) => role === "staff" || role === "manager");
  $("complaint-open").hidden = Boolean(complaint) || staff;
  if (view.complaint) followComplaint();
}

function drawComplaint(view) {
  if (complaint && view.version < complaint.version) return;
  complaint = view;
  $("complaint-open").hidden = true;
  $("complaint-shown").hidden = false;
  $("complaint-status").textContent = view.status || "";
  $("complaint-state").textContent = `State: ${complaintWords(view.state)}`;
  $("complaint-state").dataset.state = topState(view.state);
  const next = view.nextEvents || [];
  const staff = who()?.roles.some((role) => role === "staff" || role === "manager");
  const asking = Boolean(view.question) && next.includes("ANSWER") && !staff; // the customer answers
  $("complaint-question").hidden = !asking;
  if (asking) $("complaint-asked").textContent = `We asked: ${view.question.text}`;
  $("withdraw").hidden = staff;
  $("withdraw").disabled = !next.includes("WITHDRAW");
  $("complaint-inspect").hidden = !staff;
  $("complaint-inspect").href = `${BASE}/app/inspect/complaint/${encodeURIComponent(orderId)}`;
}

function followComplaint() {
  complaintFollower ??= follow("complaint", orderId, drawComplaint);
}

async function complaintCall(path, body, control) {
  control.disabled = true;
  say($("error"), "");
  try {
    drawComplaint(await api("POST", `/orders/${encodeURIComponent(orderId)}/complaint${path}`, body));
    followComplaint();
    return true;
  } catch (error) {
    showError(error);
    return false;
  } finally {
    control.disabled = false;
    if (complaint) $("withdraw").disabled = !complaint.nextEvents.includes("WITHDRAW");
  }
}

async function openComplaint(event) {
  event.preventDefault();
  const reason = $("complaint-reason").value.trim();
  const details = $("complaint-details").value.trim();
  if (!reason) {
    say($("error"), "Say what went wrong (up to 200 characters) to open a complaint.");
    $("complaint-reason").focus();
    return;
  }
  const body = details ? { reason, details } : { reason };
  if (await complaintCall("", body, $("complaint-submit"))) $("complaint-form").reset();
}

async function answerQuestion(event) {
  event.preventDefault();
  const message = $("complaint-answer").value.trim();
  if (!message) {
    say($("error"), "Write your answer (up to 2000 characters) before sending it.");
    $("complaint-answer").focus();
    return;
  }
  if (await complaintCall("/answer", { message }, $("answer"))) $("complaint-answer").value = "";
}

async function withdrawComplaint() {
  await complaintCall("/withdraw", {}, $("withdraw"));
}

async function start() {
  if (!token()) {
    say($("error"), "Sign in (top right) to see this order.");
    return;
  }
  say($("error"), "");
  try {
    const [diagram, view] = await Promise.all([
      api("GET", `/orders/${encodeURIComponent(orderId)}/diagram`), // the chart of its own version
      api("GET", `/orders/${encodeURIComponent(orderId)}`),
    ]);
    chartText = diagram.mermaid;
    drawView(view); // its chart was drawn once for its version: a small SVG, no Mermaid
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
$("complaint-form").addEventListener("submit", openComplaint);
$("answer-form").addEventListener("submit", answerQuestion);
$("withdraw").addEventListener("click", withdrawComplaint);
signIn($("sign-in"), start).catch(showError);
start();
