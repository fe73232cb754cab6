// The staff board: the kitchen, oven and delivery queues, the complaints and the refunds
// to settle, oldest first, with their actions. Nothing is polled: the board's feed (a
// websocket) announces work and complaints that arrive or leave, each listed complaint is
// followed over its own websocket, and the lists are read again only when the feed
// (re)connects (to catch up) and after the board's own actions.
import {
  ApiError, BASE, activePaths, api, button, clockTime, coalesced, connectionWords, follow, followFeed, money, say,
  signIn, takeTokenFromFragment, token, who,
} from "./console.js";
import { ask } from "./ask.js";

const $ = (id) => document.getElementById(id);
const STATIONS = [
  { station: "kitchen", path: "/kitchen/orders", action: "Ready", route: "ready", reject: true },
  { station: "delivery", path: "/delivery/orders", action: "Delivered", route: "delivered" },
];
const ESCALATED = "handling.review.active.escalated";
const REVIEW_WORDS = {
  "handling.review.active.withStaff.new": "new, not claimed yet",
  "handling.review.active.withStaff.investigating": "claimed",
  [ESCALATED]: "escalated to a manager",
  "handling.review.onHold": "on hold: waiting for the customer's answer",
};

const followers = new Map(); // complaint id -> its websocket handle
const rows = new Map(); // tbody id -> Map(key -> { sig, element })

function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

function short(id) {
  return id.slice(0, 8);
}

/** How long ago an ISO time was, in words ("40 s", "12 min", "3 h 5 min"). */
function age(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (Number.isNaN(seconds)) return "";
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function inspectLink(workflow, id) {
  const link = document.createElement("a");
  link.href = `${BASE}/app/inspect/${workflow}/${encodeURIComponent(id)}`;
  link.textContent = short(id);
  link.setAttribute("aria-label", `Inspect ${workflow} ${short(id)}`);
  return link;
}

function line(key, cells) {
  const row = document.createElement("tr");
  row.dataset.order = key;
  for (const content of cells) {
    const cell = document.createElement("td");
    if (Array.isArray(content)) cell.append(...content);
    else cell.append(content ?? "");
    row.append(cell);
  }
  return row;
}

function act(text, label, onClick, enabled = true) {
  const control = button(text, () => onClick(control));
  control.setAttribute("aria-label", label);
  control.disabled = !enabled;
  return control;
}

/** Put `items` into a table body, keeping the rows (and the focus in them) of items that
 * did not change; `signature` says what a row shows, `build` makes one. */
function sync(tbodyId, items, keyOf, signature, build, columns) {
  const known = rows.get(tbodyId) || new Map();
  const next = new Map();
  const elements = items.map((item) => {
    const key = keyOf(item);
    const sig = signature(item);
    const kept = known.get(key);
    const element = kept && kept.sig === sig ? kept.element : build(item);
    next.set(key, { sig, element });
    return element;
  });
  rows.set(tbodyId, next);
  if (!elements.length) {
    const empty = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = columns;
    cell.className = "empty";
    cell.textContent = "Nothing waiting.";
    empty.append(cell);
    elements.push(empty);
  }
  const body = $(tbodyId);
  const same = elements.length === body.children.length && elements.every((e, i) => body.children[i] === e);
  if (!same) body.replaceChildren(...elements);
  for (const cell of body.querySelectorAll("[data-since]")) cell.textContent = age(cell.dataset.since);
}

function ageCell(iso) {
  const text = document.createElement("span");
  text.dataset.since = iso || "";
  text.textContent = age(iso);
  text.title = clockTime(iso);
  return text;
}

/** Run one board action: the control is disabled while it runs; errors are said in words
 * (`explain` may say one better); the board is read again after it. */
async function run(control, call, explain = () => null) {
  control.disabled = true;
  say($("error"), "");
  try {
    await call();
  } catch (error) {
    say($("error"), explain(error) || (error instanceof ApiError ? error.message : String(error?.message || error)));
    control.disabled = false;
  }
  refresh();
}

// -- kitchen and delivery ------------------------------------------------------------------

function orderRow(queue, work) {
  const pizzas = (work.items || []).map((i) => `${i.name} (${i.size}: ${i.toppings.join(", ")})`).join("; ");
  const id = work.orderId;
  const actions = [
    act(queue.action, `${queue.action}: order ${short(id)}`, (control) =>
      run(control, () => api("POST", `/${queue.station}/orders/${id}/${queue.route}`, {})),
    ),
  ];
  if (queue.reject) {
    actions.push(" ", act("Reject", `Reject: order ${short(id)}`, (control) => rejectOrder(queue, id, control)));
  }
  return line(id, [inspectLink("order", id), work.customerId, pizzas, ageCell(work.receivedAt), actions]);
}

async function rejectOrder(queue, orderId, control) {
  const answer = await ask({
    title: `Reject order ${short(orderId)}`,
    help: "The order is cancelled and the customer sees your reason.",
    okLabel: "Reject order",
    text: { label: "Reason for the customer", required: true, max: 200 },
  });
  if (!answer) return;
  await run(control, () => api("POST", `/${queue.station}/orders/${orderId}/rejected`, { reason: answer.text }));
}

// -- the oven: one pizza at a time ---------------------------------------------------------

const OVEN = "/stations/oven/work";

/** A bake the oven holds (a pizza of an order on version 3): *Baked* reports it baked,
 * *Burnt* reports it burnt with a reason (the pizza is baked again once, then fails). */
function bakeRow(work) {
  const id = work.bakeId;
  const pizza = work.pizza || {};
  const name = `${pizza.name} (${pizza.size}: ${(pizza.toppings || []).join(", ") || "no toppings"})`;
  const which = `${work.itemId} of order ${short(work.orderId)}`;
  const link = inspectLink("pizza", work.pizzaId);
  link.textContent = name;
  link.setAttribute("aria-label", `Inspect pizza ${which}: ${name}`);
  const bake = work.attempt > 1 ? `baked again (bake ${work.attempt})` : "first bake";
  const route = `${OVEN}/${encodeURIComponent(id)}`;
  const actions = [
    act("Baked", `Baked: pizza ${which}`, (control) => run(control, () => api("POST", `${route}/finished`, {}))),
    " ",
    act("Burnt", `Burnt: pizza ${which}`, (control) => burnt(work, which, control)),
  ];
  const row = line(id, [link, inspectLink("order", work.orderId), bake, ageCell(work.receivedAt), actions]);
  row.dataset.bake = id;
  return row;
}

async function burnt(work, which, control) {
  const answer = await ask({
    title: `Burnt: pizza ${which}`,
    help: work.attempt > 1
      ? "This was its second bake: the order is cancelled and the customer sees your reason."
      : "The pizza is baked again; a second burn cancels the order with the reason.",
    okLabel: "Report burnt",
    text: { label: "What went wrong", required: true, max: 200 },
  });
  if (!answer) return;
  await run(control, () => api("POST", `${OVEN}/${encodeURIComponent(work.bakeId)}/rejected`, { reason: answer.text }));
}

// -- complaints ----------------------------------------------------------------------------

function reviewWords(paths) {
  const said = Object.entries(REVIEW_WORDS).find(([path]) => paths.includes(path));
  return said ? said[1] : paths.at(-1) || "";
}

function complaintRow(complaint) {
  const id = complaint.orderId;
  const paths = activePaths(complaint.state);
  const escalated = paths.includes(ESCALATED);
  const can = (type) => complaint.nextEvents.includes(type);
  const reason = [complaint.reason];
  if (complaint.details) reason.push(document.createElement("br"), complaint.details);
  const state = document.createElement("span");
  state.textContent = reviewWords(paths) + (complaint.assignee ? ` (by ${complaint.assignee})` : "");
  const status = document.createElement("div");
  status.className = "connection";
  status.textContent = complaint.status || "";
  const where = [state];
  if (escalated) {
    const mark = document.createElement("strong");
    mark.className = "escalated";
    mark.textContent = "Escalated";
    where.unshift(mark, " ");
  }
  where.push(status);
  if (complaint.question) {
    const asked = document.createElement("div");
    asked.textContent = `Asked: ${complaint.question.text}` + (complaint.answer ? ` Answer: ${complaint.answer.text}` : "");
    where.push(asked);
  }
  const label = (verb) => `${verb}: complaint ${short(id)}`;
  const decide = (verb) => (control) => decideComplaint(complaint, verb, control, escalated);
  const actions = [
    act("Claim", label("Claim"), (control) => run(control, () => api("POST", `/complaints/${id}/claim`, {})), can("CLAIM")),
    " ",
    act("Ask", label("Ask the customer"), (control) => askCustomer(id, control), can("ASK_CUSTOMER")),
    " ",
    act("Approve", label("Approve"), decide("approve"), can("APPROVE")),
    " ",
    act("Reject", label("Reject"), decide("reject"), can("REJECT")),
  ];
  const row = line(id, [inspectLink("complaint", id), reason, where, ageCell(complaint.createdAt), money(complaint.orderTotal), actions]);
  if (escalated) row.classList.add("escalated");
  return row;
}

async function askCustomer(orderId, control) {
  const answer = await ask({
    title: `Ask the customer about complaint ${short(orderId)}`,
    help: "The review waits for the answer.",
    okLabel: "Send question",
    text: { label: "Question", required: true, max: 1000 },
  });
  if (!answer) return;
  await run(control, () => api("POST", `/complaints/${orderId}/question`, { question: answer.text }));
}

async function decideComplaint(complaint, decision, control, escalated) {
  const id = complaint.orderId;
  const approving = decision === "approve";
  const answer = await ask(
    approving
      ? {
          title: `Approve complaint ${short(id)}`,
          help: `Refund all of the order (${money(complaint.orderTotal)}) or part of it.`,
          okLabel: "Approve refund",
          amount: { total: complaint.orderTotal },
          text: { label: "Note for the customer (optional)", required: false, max: 500 },
        }
      : {
          title: `Reject complaint ${short(id)}`,
          help: "The decision is final; the customer sees your reason.",
          okLabel: "Reject complaint",
          text: { label: "Reason for the customer", required: true, max: 500 },
        },
  );
  if (!answer) return;
  const body = { decision };
  if (approving) {
    if (answer.amount !== complaint.orderTotal) body.amount = answer.amount;
    if (answer.text) body.reason = answer.text;
  } else {
    body.reason = answer.text;
  }
  await run(
    control,
    () => api("POST", `/complaints/${id}/decision`, body),
    (error) =>
      error instanceof ApiError && error.status === 403 && (escalated || /escalated/.test(error.body?.message || ""))
        ? `Only a manager may decide an escalated complaint (${error.body?.message || "forbidden"}). Ask a manager to sign in and decide it.`
        : null,
  );
}

// -- payments ------------------------------------------------------------------------------

function refundRow(refund) {
  const id = refund.refundId;
  const settle = act("Settle", `Settle: refund ${id}`, (control) =>
    run(control, () => api("POST", `/payments/refunds/${encodeURIComponent(id)}/settled`, {})),
  );
  return line(id, [id, inspectLink("complaint", refund.complaintId || refund.orderId), money(refund.amount), refund.attempt, ageCell(refund.receivedAt), settle]);
}

// -- what the board holds, kept by its feed ------------------------------------------------

// each list by key, as the last read or the station feed left it
const held = { kitchen: new Map(), oven: new Map(), delivery: new Map(), payments: new Map(), complaints: new Map() };
const FEED_LISTS = { kitchen: "kitchen", oven: "oven", delivery: "delivery", payments: "payments", complaint: "complaints" };
const KEYS = { kitchen: "orderId", oven: "bakeId", delivery: "orderId", payments: "refundId", complaints: "orderId" };
const since = (item) => item.receivedAt || item.createdAt || "";

function open(view) {
  return !view.done && activePaths(view.state).includes("handling");
}

/** A complaint's view pushed over its websocket: its row changes, or leaves once decided. */
function onComplaintView(view) {
  const known = held.complaints.get(view.orderId);
  if (known && view.version <= known.version) return;
  if (open(view)) held.complaints.set(view.orderId, view);
  else held.complaints.delete(view.orderId);
  draw();
}

// the feed's announcements of the last RECENT_MS, replayed over every read of the lists:
// a read answered after an announcement (or from an index that lags it) would undo it
const RECENT_MS = 10000;
let recent = [];

/** One announcement of the board's feed: work (or a complaint) arrived or left. */
function onAnnounced(message) {
  if (!held[FEED_LISTS[message.list]]) return;
  const now = Date.now();
  recent = [...recent.filter((one) => now - one.at < RECENT_MS), { at: now, message }];
  apply(message);
  draw();
}

function apply(message) {
  const list = held[FEED_LISTS[message.list]];
  if (message.change === "arrived" && message.item) {
    const known = list.get(message.id);
    if (!known || !(message.item.version <= known.version)) list.set(message.id, message.item);
  } else if (message.change === "left") {
    list.delete(message.id);
  }
}

function sorted(list) {
  return [...list.values()].sort((a, b) => since(a).localeCompare(since(b)));
}

/** Redraw every table from what the board holds (no request). */
function draw() {
  const kitchen = sorted(held.kitchen);
  const oven = sorted(held.oven);
  const delivery = sorted(held.delivery);
  const complaints = sorted(held.complaints).filter(open);
  const refunds = sorted(held.payments);
  sync("kitchen", kitchen, (w) => w.orderId, (w) => JSON.stringify(w), (w) => orderRow(STATIONS[0], w), 5);
  sync("oven", oven, (w) => w.bakeId, (w) => JSON.stringify(w), bakeRow, 5);
  sync("delivery", delivery, (w) => w.orderId, (w) => JSON.stringify(w), (w) => orderRow(STATIONS[1], w), 5);
  sync("complaints", complaints, (c) => c.orderId, (c) => `${c.version}`, complaintRow, 6);
  sync("payments", refunds, (r) => r.refundId, (r) => r.refundId, refundRow, 6);
  $("summary").textContent =
    `${kitchen.length} in the kitchen, ${oven.length} ${oven.length === 1 ? "pizza" : "pizzas"} in the oven, ` +
    `${delivery.length} out for delivery, ` +
    `${complaints.length} ${complaints.length === 1 ? "complaint" : "complaints"} open, ` +
    `${refunds.length} ${refunds.length === 1 ? "refund" : "refunds"} to settle ` +
    `(updated ${clockTime(new Date().toISOString())}).`;
  followComplaints(complaints);
}

/** Follow each listed complaint, so a claim, a question or an escalation shows at once. */
function followComplaints(complaints) {
  const wanted = new Set(complaints.map((c) => c.orderId));
  for (const [id, handle] of followers) {
    if (!wanted.has(id)) {
      handle.close();
      followers.delete(id);
    }
  }
  for (const id of wanted) {
    if (!followers.has(id)) followers.set(id, follow("complaint", id, onComplaintView));
  }
}

/** Read every list and redraw (on start, on every (re)connection of the feed, so what
 * was announced while it was down is caught up, and after the board's own actions). */
const refresh = coalesced(async () => {
  try {
    const [kitchen, delivery, complaints, refunds, oven] = await Promise.all([
      ...STATIONS.map((q) => api("GET", q.path)),
      api("GET", "/complaints"),
      api("GET", "/payments/refunds"),
      api("GET", OVEN),
    ]);
    const fill = (list, items, key) => {
      list.clear();
      for (const item of items) list.set(item[key], item);
    };
    fill(held.kitchen, kitchen.orders, KEYS.kitchen);
    fill(held.oven, oven.work, KEYS.oven);
    fill(held.delivery, delivery.orders, KEYS.delivery);
    fill(held.payments, refunds.refunds, KEYS.payments);
    for (const c of complaints.complaints) {
      const known = held.complaints.get(c.orderId);
      if (!known || c.version > known.version) held.complaints.set(c.orderId, c);
    }
    const listed = new Set(complaints.complaints.map((c) => c.orderId));
    for (const id of held.complaints.keys()) if (!listed.has(id)) held.complaints.delete(id);
    for (const { message } of recent) apply(message); // newer than (or missing from) the read
    draw();
  } catch (error) {
    showError(error);
  }
});

let feed = null;

async function start() {
  const current = who();
  if (!token() || !current) {
    say($("error"), "Sign in (top right) as a staff member to see the board.");
    return;
  }
  if (!current.roles.includes("staff") && !current.roles.includes("manager")) {
    say($("error"), `The board is for staff; ${current.user} is not staff. Sign out and sign in as staff.`);
    return;
  }
  say($("error"), "");
  $("board").hidden = false;
  $("complaints-note").textContent = current.roles.includes("manager")
    ? "Oldest first. You are a manager: you may decide escalated complaints too."
    : "Oldest first. Escalated complaints are decided by a manager.";
  feed?.close();
  await refresh(); // the lists now (and a sign-in that expired is said at once)
  feed = followFeed("work", onAnnounced, (status) => {
    $("feed").textContent = connectionWords(status);
    $("feed").dataset.status = status;
    if (status === "live") refresh(); // caught up with whatever was announced meanwhile
  });
}

takeTokenFromFragment();
window.addEventListener("tropical:signed-out", () => {
  feed?.close(); // nothing more to hear without a token
  $("board").hidden = true;
});
signIn($("sign-in"), start).catch(showError);
start();
