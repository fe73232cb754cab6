// "My orders": the signed-in customer's orders, newest first, a page at a time
// (GET /orders), each with its status and total and a link to its tracker.
import {
  ApiError, BASE, api, clockTime, money, pizzaWords, say, signIn, takeTokenFromFragment, token,
} from "./console.js";

const $ = (id) => document.getElementById(id);
const PAGE = 10;
let next = null;
let shown = 0;

function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

function when(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return `${at.toLocaleDateString()} ${clockTime(iso).slice(0, 5)}`;
}

function card(order) {
  const item = document.createElement("li");
  item.className = "card";
  item.dataset.order = order.orderId;
  const link = document.createElement("a");
  link.href = `${BASE}/app/orders/${encodeURIComponent(order.orderId)}`;
  link.textContent = `Order ${order.orderId.slice(0, 8)}`;
  const title = document.createElement("h2");
  title.append(link);
  const status = document.createElement("p");
  status.className = "status";
  status.textContent = order.status || "";
  const facts = document.createElement("p");
  const count = order.items.length;
  facts.textContent = `${when(order.createdAt)} · ${count} ${count === 1 ? "pizza" : "pizzas"} · total ${money(order.totalCents)}`;
  const pizzas = document.createElement("p");
  pizzas.className = "connection";
  pizzas.textContent = order.items.map(pizzaWords).join("; ");
  item.append(title, status, facts, pizzas);
  return item;
}

async function more() {
  $("more").disabled = true;
  try {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (next) query.set("next", next);
    const page = await api("GET", `/orders?${query}`);
    $("orders").append(...page.orders.map(card));
    shown += page.orders.length;
    next = page.next;
    $("more").hidden = !next;
    $("summary").textContent = shown
      ? `${shown} ${shown === 1 ? "order" : "orders"} shown, newest first${next ? "; older ones below the button" : ""}.`
      : "No orders yet: order a pizza first.";
  } catch (error) {
    showError(error);
  } finally {
    $("more").disabled = false;
  }
}

async function start() {
  if (!token()) {
    say($("error"), "Sign in (top right) to see your orders.");
    return;
  }
  say($("error"), "");
  next = null;
  shown = 0;
  $("orders").replaceChildren();
  await more();
}

takeTokenFromFragment();
$("more").addEventListener("click", more);
signIn($("sign-in"), start).catch(showError);
start();
