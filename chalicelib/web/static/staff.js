// The staff board: the kitchen and delivery queues, the complaints and the refunds to
// settle, oldest first, with their actions. Each listed order and complaint is followed
// over the websocket, so one that moves on changes or leaves the board at once; new
// arrivals show on the next refresh (every few seconds), as no websocket announces them.
import {
  ApiError, BASE, activePaths, api, button, clockTime, coalesced, follow, say, signIn, takeTokenFromFragment, token, who,
} from "./console.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;
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

const followers = new Map(); // "<workflow>#<id>" -> websocket handle
const pushed = new Map(); // complaint id -> the newest view pushed over its websocket
const rows = new Map(); // tbody id -> Map(key -> { sig, element })
let timer = null;

function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

function short(id) {
  return id.slice(0, 8);
}

/** 2450 cents -> "24.50". */
function money(cents) {
  return typeof cents === "number" ? (cents / 100).toFixed(2) : "";
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

// -- the dialog that asks for a reason, a question or an amount ---------------------------

/** Ask in the page's dialog; resolves to { text, amount } or null when cancelled.
 * `text`: { label, required, max } or null; `amount`: { total } or null. */
function ask({ title, help, okLabel, text = null, amount = null }) {
  const dialog = $("ask");
  $("ask-title").textContent = title;
  $("ask-help").textContent = help || "";
  $("ask-ok").textContent = okLabel;
  say($("ask-error"), "");
  $("ask-text-field").hidden = !text;
  $("ask-amount-field").hidden = !amount;
  $("ask-text").value = "";
  if (text) {
    $("ask-text-label").textContent = text.label;
    $("ask-text").maxLength = text.max;
    $("ask-text").required = Boolean(text.required);
  }
  if (amount) {
    $("ask-amount").max = String(amount.total);
    $("ask-amount").value = String(amount.total);
    $("ask-amount-help").textContent =
      `From 1 to ${amount.total} cents (${money(amount.total)}, the order's total, refunds all of it).`;
  }
  return new Promise((resolve) => {
    const form = $("ask-form");
    const done = (answer) => {
      form.removeEventListener("submit", submit);
      $("ask-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const cancel = (event) => {
      event?.preventDefault();
      done(null);
    };
    const submit = (event) => {
      event.preventDefault();
      const said = $("ask-text").value.trim();
      if (text?.required && !said) {
        say($("ask-error"), `${text.label} is needed (up to ${text.max} characters).`);
        $("ask-text").focus();
        return;
      }
      let cents = null;
      if (amount) {
        cents = Number($("ask-amount").value);
        if (!Number.isInteger(cents) || cents < 1 || cents > amount.total) {
          say($("ask-error"), `The refund must be a whole number of cents from 1 to ${amount.total}.`);
          $("ask-amount").focus();
          return;
        }
      }
      done({ text: said, amount: cents });
    };
    form.addEventListener("submit", submit);
    $("ask-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
    (amount ? $("ask-amount") : $("ask-text")).focus();
  });
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

/** A complaint's view pushed over its websocket: kept if newer than the one listed. */
function onComplaintView(view) {
  const known = pushed.get(view.orderId);
  if (!known || view.version > known.version) pushed.set(view.orderId, view);
  refresh();
}

/** The listed complaints with each replaced by a newer pushed view; decided ones leave. */
function freshest(listed) {
  return listed
    .map((c) => {
      const newer = pushed.get(c.orderId);
      return newer && newer.version > c.version ? newer : c;
    })
    .filter((c) => !c.done && activePaths(c.state).includes("handling"));
}

// -- payments ------------------------------------------------------------------------------

function refundRow(refund) {
  const id = refund.refundId;
  const settle = act("Settle", `Settle: refund ${id}`, (control) =>
    run(control, () => api("POST", `/payments/refunds/${encodeURIComponent(id)}/settled`, {})),
  );
  return line(id, [id, inspectLink("complaint", refund.complaintId || refund.orderId), money(refund.amount), refund.attempt, ageCell(refund.receivedAt), settle]);
}

// -- reading and following -----------------------------------------------------------------

function followAll(wanted) {
  for (const [key, handle] of followers) {
    if (!wanted.has(key)) {
      handle.close();
      followers.delete(key);
    }
  }
  for (const [key, [workflow, id]] of wanted) {
    if (followers.has(key)) continue;
    const onView = workflow === "complaint" ? onComplaintView : () => refresh();
    followers.set(key, follow(workflow, id, onView));
  }
}

/** Read every queue and redraw the board; a call during a read reads again after it. */
const refresh = coalesced(async () => {
  try {
    const [kitchen, delivery, complaints, refunds] = await Promise.all([
      ...STATIONS.map((q) => api("GET", q.path)),
      api("GET", "/complaints"),
      api("GET", "/payments/refunds"),
    ]);
    const wanted = new Map();
    [kitchen, delivery].forEach((answer, i) => {
      const queue = STATIONS[i];
      sync(queue.station, answer.orders, (w) => w.orderId, (w) => JSON.stringify(w), (w) => orderRow(queue, w), 5);
      for (const work of answer.orders) wanted.set(`order#${work.orderId}`, ["order", work.orderId]);
    });
    const open = freshest(complaints.complaints);
    sync("complaints", open, (c) => c.orderId, (c) => `${c.version}`, complaintRow, 6);
    for (const c of complaints.complaints) wanted.set(`complaint#${c.orderId}`, ["complaint", c.orderId]);
    for (const id of pushed.keys()) if (!wanted.has(`complaint#${id}`)) pushed.delete(id);
    sync("payments", refunds.refunds, (r) => r.refundId, (r) => r.refundId, refundRow, 6);
    $("summary").textContent =
      `${kitchen.orders.length} in the kitchen, ${delivery.orders.length} out for delivery, ` +
      `${open.length} ${open.length === 1 ? "complaint" : "complaints"} open, ` +
      `${refunds.refunds.length} ${refunds.refunds.length === 1 ? "refund" : "refunds"} to settle ` +
      `(updated ${clockTime(new Date().toISOString())}).`;
    followAll(wanted);
  } catch (error) {
    showError(error);
  }
});

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
  await refresh();
  clearInterval(timer);
  timer = setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
}

takeTokenFromFragment();
window.addEventListener("tropical:signed-out", () => {
  clearInterval(timer); // no more refreshes that would be refused for want of a token
  $("board").hidden = true;
});
signIn($("sign-in"), start).catch(showError);
start();
