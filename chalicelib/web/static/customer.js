// The customer page: build an order pizza by pizza, confirm it, then follow it.
import {
  ApiError, BASE, api, button, money, pizzaWords, say, signIn, takeTokenFromFragment, token,
} from "./console.js";

const DRAFT_KEY = "tropical.draft";
const $ = (id) => document.getElementById(id);

let order = null;
let menu = null; // GET /menu: the sizes' prices, the toppings and what one costs

function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

/** The menu form with its prices (GET /menu), then the price of the pizza as it is. */
function drawMenu() {
  const chosen = $("pizza-size").value || "large";
  $("pizza-size").replaceChildren(
    ...menu.sizes.map(({ size, cents }) => {
      const option = document.createElement("option");
      option.value = size;
      option.textContent = `${size} (${money(cents)})`;
      option.selected = size === chosen;
      return option;
    }),
  );
  $("toppings-legend").textContent = `Fruit toppings (up to 8, ${money(menu.toppingCents)} each)`;
  $("toppings").replaceChildren(
    ...menu.toppings.map((fruit) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "toppings";
      box.value = fruit;
      box.checked = fruit === "pineapple" || fruit === "mango";
      label.append(box, ` ${fruit}`);
      return label;
    }),
  );
  drawPizzaPrice();
}

function drawPizzaPrice() {
  if (!menu) return;
  const form = new FormData($("pizza-form"));
  const base = menu.sizes.find((s) => s.size === form.get("size"))?.cents ?? 0;
  $("pizza-price").textContent = `This pizza: ${money(base + menu.toppingCents * form.getAll("toppings").length)}`;
}

function draw(view) {
  order = view;
  if (view) sessionStorage.setItem(DRAFT_KEY, view.orderId);
  else sessionStorage.removeItem(DRAFT_KEY);
  const next = new Set(view?.nextEvents || []);
  $("order-status").textContent = view ? view.status : "No pizzas yet.";
  $("items").replaceChildren(
    ...(view?.items || []).map((item) => {
      const line = document.createElement("li");
      const words = document.createElement("span");
      words.textContent = pizzaWords(item);
      const price = document.createElement("span");
      price.className = "price";
      price.textContent = money(item.priceCents);
      line.append(words, price);
      const remove = button("Remove", () => act("DELETE", `/orders/${view.orderId}/pizzas/${item.itemId}`));
      remove.setAttribute("aria-label", `Remove ${item.name}`);
      remove.disabled = !next.has("REMOVE_PIZZA");
      line.append(remove);
      return line;
    }),
  );
  $("order-total").hidden = !view;
  $("order-total").textContent = view ? `Total: ${money(view.totalCents)}` : "";
  $("confirm").disabled = !view || !next.has("CONFIRM_PIZZA") || !view.items.length;
  $("cancel").disabled = !view || !next.has("CANCEL_ORDER");
  $("add").disabled = Boolean(view) && !next.has("ADD_PIZZA");
  const link = $("tracker-link");
  link.hidden = !view;
  if (view) link.href = `${BASE}/app/orders/${view.orderId}`;
}

async function act(method, path, body) {
  say($("error"), "");
  try {
    const view = await api(method, path, body);
    draw(view);
    return view;
  } catch (error) {
    showError(error);
    return null;
  }
}

async function addPizza(event) {
  event.preventDefault();
  const form = new FormData($("pizza-form"));
  const pizza = { name: form.get("name"), size: form.get("size"), toppings: form.getAll("toppings") };
  if (order) await act("POST", `/orders/${order.orderId}/pizzas`, { pizza });
  else await act("POST", "/orders", { pizza });
}

async function confirm() {
  const view = await act("POST", `/orders/${order.orderId}/confirm`);
  if (view) {
    sessionStorage.removeItem(DRAFT_KEY);
    window.location.assign(`${BASE}/app/orders/${view.orderId}`);
  }
}

async function start() {
  $("signed-out").hidden = Boolean(token());
  $("signed-in").hidden = !token();
  if (!token()) return;
  if (!menu) {
    try {
      menu = await api("GET", "/menu");
      drawMenu();
    } catch (error) {
      showError(error);
    }
  }
  const draft = sessionStorage.getItem(DRAFT_KEY);
  if (!draft) return draw(null);
  try {
    const view = await api("GET", `/orders/${draft}`);
    draw(view.nextEvents.includes("ADD_PIZZA") ? view : null);
  } catch (error) {
    draw(null);
    if (!(error instanceof ApiError && error.status === 404)) showError(error);
  }
}

takeTokenFromFragment();
$("pizza-form").addEventListener("change", drawPizzaPrice);
$("pizza-form").addEventListener("submit", addPizza);
$("confirm").addEventListener("click", confirm);
$("cancel").addEventListener("click", () => act("POST", `/orders/${order.orderId}/cancel`, {}));
signIn($("sign-in"), start).catch(showError);
start();
