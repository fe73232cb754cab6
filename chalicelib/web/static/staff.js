// The staff board: the kitchen and delivery queues, oldest first, and their actions.
// Each listed order is followed over the websocket, so an order that moves on leaves
// the board at once; new arrivals show on the next refresh (every few seconds), as
// no websocket announces them.
import { ApiError, BASE, api, button, clockTime, follow, say, signIn, takeTokenFromFragment, token, who } from "./console.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;
const QUEUES = [
  { station: "kitchen", path: "/kitchen/orders", action: "Ready", route: "ready" },
  { station: "delivery", path: "/delivery/orders", action: "Delivered", route: "delivered" },
];

const followers = new Map(); // order id -> websocket handle
let timer = null;
let loading = null;
let again = false; // a change arrived during a read: read once more after it

function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

function row(queue, work) {
  const line = document.createElement("tr");
  line.dataset.order = work.orderId;
  const link = document.createElement("a");
  link.href = `${BASE}/app/inspect/order/${work.orderId}`;
  link.textContent = work.orderId.slice(0, 8);
  link.setAttribute("aria-label", `Inspect order ${work.orderId.slice(0, 8)}`);
  const pizzas = (work.items || []).map((i) => `${i.name} (${i.size}: ${i.toppings.join(", ")})`).join("; ");
  const cells = [link, work.customerId, pizzas, clockTime(work.receivedAt)];
  const act = button(queue.action, () => finish(queue, work.orderId, act));
  act.setAttribute("aria-label", `${queue.action}: order ${work.orderId.slice(0, 8)}`);
  for (const content of [...cells, act]) {
    const cell = document.createElement("td");
    cell.append(content ?? "");
    line.append(cell);
  }
  return line;
}

async function finish(queue, orderId, control) {
  control.disabled = true;
  say($("error"), "");
  try {
    await api("POST", `/${queue.station}/orders/${orderId}/${queue.route}`, {});
  } catch (error) {
    showError(error);
    control.disabled = false;
  }
  refresh();
}

function followAll(ids) {
  for (const [id, handle] of followers) {
    if (!ids.has(id)) {
      handle.close();
      followers.delete(id);
    }
  }
  for (const id of ids) {
    if (!followers.has(id)) followers.set(id, follow("order", id, () => refresh()));
  }
}

/** Read both queues and redraw them; a call during a read reads again after it. */
function refresh() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      const answers = await Promise.all(QUEUES.map((q) => api("GET", q.path)));
      const ids = new Set();
      answers.forEach((answer, i) => {
        const queue = QUEUES[i];
        const rows = answer.orders.map((work) => row(queue, work));
        answer.orders.forEach((work) => ids.add(work.orderId));
        if (!rows.length) {
          const empty = document.createElement("tr");
          empty.innerHTML = '<td colspan="5" class="empty">Nothing waiting.</td>';
          rows.push(empty);
        }
        $(queue.station).replaceChildren(...rows);
      });
      $("summary").textContent =
        `${answers[0].orders.length} in the kitchen, ${answers[1].orders.length} out for delivery ` +
        `(updated ${clockTime(new Date().toISOString())}).`;
      followAll(ids);
    } catch (error) {
      showError(error);
    } finally {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    }
  })();
  return loading;
}

async function start() {
  const current = who();
  if (!token() || !current) {
    say($("error"), "Sign in (top right) as a staff member to see the board.");
    return;
  }
  if (!current.roles.includes("staff")) {
    say($("error"), `The board is for staff; ${current.user} is not staff. Sign out and sign in as staff.`);
    return;
  }
  say($("error"), "");
  $("board").hidden = false;
  await refresh();
  clearInterval(timer);
  timer = setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
}

takeTokenFromFragment();
signIn($("sign-in"), start).catch(showError);
start();
