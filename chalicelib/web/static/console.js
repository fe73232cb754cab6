// What every page of the console shares: configuration, the token, API calls with
// errors in words, live updates over the websocket, sign-in and the chart.

import { pathsOfKey } from "./travel.js";
import { zoomable } from "./zoom.js";
import {
  beginSignIn, dropToken, expired, finishSignIn, setToken, signOut, token, useRolesClaim, who,
} from "./session.js";

export { setToken, takeTokenFromFragment, token, who } from "./session.js";

let configPromise = null;

/** Where the app is served: "" locally and behind a custom domain, "/<stage>" on an
 * execute-api address (the server writes it into each page). */
export const BASE = document.querySelector('meta[name="api-base"]')?.content || "";

/** The page configuration served by the app (websocket URL, sign-in mode). */
export function config() {
  configPromise ??= fetch(`${BASE}/app/config.json`).then(async (answer) => {
    if (!answer.ok) throw new Error(`the console configuration is missing (HTTP ${answer.status})`);
    const settings = await answer.json();
    useRolesClaim(settings.rolesClaim);
    return settings;
  });
  return configPromise;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  const said = body?.message || "";
  switch (status) {
    case 0:
      return "The server cannot be reached. Check the connection and try again.";
    case 401:
      if (said === "token expired") return "Your sign-in has expired. Please sign in again.";
      return `You are not signed in, or your sign-in has expired (${said || "no token"}). Please sign in again.`;
    case 403:
      return `You may not do that: ${said}`;
    case 404:
      return `Not found: ${said}`;
    case 409: {
      const allowed = body?.nextEvents?.length ? ` Possible now: ${body.nextEvents.map(eventName).join(", ")}.` : "";
      return `That is not possible right now: ${said}.${allowed}`;
    }
    case 503:
      return `The service is unavailable for a moment: ${said.replace(/([^.])$/, "$1.")} Please try again.`;
    default:
      return `The request failed (HTTP ${status}): ${said || "no details"}`;
  }
}

/** Call the HTTP API with the session's token; ApiError (its message in words) on failure. */
export async function api(method, path, body) {
  if (token() && expired()) {
    dropToken();
    throw new ApiError(401, { message: "token expired" });
  }
  const headers = { Authorization: `Bearer ${token() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, null);
  }
  const data = await answer.json().catch(() => null);
  if (answer.status === 401 && token()) {
    // the token is no good any more (expired, or the provider rotated its keys away):
    // forget it, so the page offers to sign in again instead of repeating the refusal
    dropToken();
  }
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}

const EVENT_NAMES = {
  ADD_PIZZA: "add a pizza",
  REMOVE_PIZZA: "remove a pizza",
  CONFIRM_PIZZA: "confirm",
  CANCEL_ORDER: "cancel",
  OPEN: "open a complaint",
  CLAIM: "claim",
  ASK_CUSTOMER: "ask the customer",
  APPROVE: "approve",
  REJECT: "reject",
  ANSWER: "answer",
  WITHDRAW: "withdraw",
};

export function eventName(type) {
  return EVENT_NAMES[type] || type;
}

/** Show a message in a page's alert region (role="alert"); an empty one hides it. */
export function say(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

/** Follow one instance live: every view the server pushes goes to `onView`. A dropped
 * connection is opened again (0.5 s, doubling to 10 s); on every open the page asks
 * for the current view, so whatever changed meanwhile is caught up. `onStatus` gets
 * "connecting", "live", "reconnecting", or "signed-out" (the sign-in expired: it stops).
 * Returns a handle with `close()`. */
export function follow(workflow, id, onView, onStatus = () => {}) {
  return listen({ workflow, id }, onView, onStatus);
}

/** Listen to a feed (``work``: work and complaints that arrive at or leave the staff
 * board), with the same reconnection as `follow`: `onStatus("live")` on every (re)open
 * is the moment to read what may have been announced while it was down. */
export function followFeed(name, onMessage, onStatus = () => {}) {
  return listen({ feed: name }, onMessage, onStatus);
}

function listen(target, onView, onStatus) {
  let socket = null;
  let delay = 500;
  let closed = false;
  let timer = null;

  async function open() {
    const { websocketUrl } = await config();
    if (!websocketUrl) {
      onStatus("unavailable");
      return;
    }
    if (!token() || expired()) {
      if (token()) dropToken();
      onStatus("signed-out"); // no token to connect with: signing in again reloads the page
      return;
    }
    const query = new URLSearchParams({ ...target, token: token() || "" });
    socket = new WebSocket(`${websocketUrl.replace(/\/$/, "")}/?${query}`);
    socket.addEventListener("open", () => {
      delay = 500;
      onStatus("live");
      if (target.workflow) socket.send("view");
    });
    socket.addEventListener("message", (message) => {
      try {
        onView(JSON.parse(message.data));
      } catch {
        // not a view (a gateway notice): nothing to draw
      }
    });
    socket.addEventListener("close", () => {
      if (closed) return;
      onStatus("reconnecting");
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    });
    socket.addEventListener("error", () => {});
  }

  onStatus("connecting");
  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      socket?.close();
    },
    get socket() {
      return socket;
    },
  };
}

const STATUS_WORDS = {
  connecting: "Connecting for live updates…",
  live: "Live: changes show as they happen.",
  reconnecting: "Connection lost; reconnecting…",
  unavailable: "Live updates are not configured for this site.",
  "signed-out": "Live updates stopped: sign in again to follow this page.",
};

export function connectionWords(status) {
  return STATUS_WORDS[status] || status;
}

/** The sign-in box. With an identity provider (deployed, and locally the development
 * issuer): a *Sign in* button for the authorization code flow; locally a pick of demo
 * people too, each signed in through the same flow (the issuer approves a named demo
 * person at once). Under AUTH_MODE=hs256 the local stack mints tokens itself. Finishes a
 * sign-in when this page is the provider's answer, and is drawn again when the API
 * refuses the token (expired). Calls `onSignedIn` once there is a token. */
export async function signIn(box, onSignedIn) {
  const settings = await config();
  if (!box.dataset.watching) {
    box.dataset.watching = "yes";
    window.addEventListener("tropical:signed-out", () => signIn(box, onSignedIn));
  }
  let failure = null;
  try {
    if (await finishSignIn(settings)) return;
  } catch (error) {
    failure = error; // said by the page, after the box offers to sign in again
  }
  const current = who();
  box.replaceChildren();
  if (current) {
    const line = document.createElement("p");
    line.textContent = `Signed in as ${current.user}${current.roles.length ? ` (${current.roles.join(", ")})` : ""}. `;
    line.append(button("Sign out", () => signOut(settings)));
    box.append(line);
    return;
  }
  if (settings.peopleUrl) {
    await pickPerson(box, settings, onSignedIn);
  } else if (settings.signIn === "code") {
    box.append(button("Sign in", () => beginSignIn(settings)));
  } else {
    box.textContent = "Sign-in is not configured for this site yet (on AWS: deploy the stack with its ConsoleUrl parameter); open this page with #token=<your token>.";
  }
  if (failure) throw failure;
}

async function pickPerson(box, settings, onSignedIn) {
  let people;
  try {
    people = await (await fetch(`${settings.peopleUrl}/people`)).json();
  } catch {
    box.textContent = "The development sign-in of the local stack does not answer. Is `make run` up?";
    return;
  }
  const label = document.createElement("label");
  label.textContent = "Development sign-in as ";
  const pick = document.createElement("select");
  pick.id = "person";
  for (const person of people) {
    const option = document.createElement("option");
    option.value = person.user;
    option.textContent = person.name;
    pick.append(option);
  }
  label.append(pick);
  const go = button("Sign in", async () => {
    if (settings.signIn === "code") {
      await beginSignIn(settings, pick.value);
      return;
    }
    const answer = await fetch(`${settings.peopleUrl}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: pick.value }),
    });
    const data = await answer.json();
    if (!answer.ok) {
      box.append(` ${data.message}`);
      return;
    }
    setToken(data.token);
    await signIn(box, onSignedIn);
    onSignedIn();
  });
  box.append(label, " ", go);
}

export function button(text, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

// -- the chart ---------------------------------------------------------------

let chartCount = 0;

/** The Mermaid node id of a state (chalicelib/statechart/diagram.py draws them so). */
function nodeId(prefix, path) {
  return prefix + path.replace(/[^A-Za-z0-9_]/g, "_");
}

/** The node-id prefix of a chart ("s_<machine id>_"), read off its first state. */
function prefixOf(text) {
  const first = text.match(/state "([^"]+)" as (s_\w+)/);
  if (!first) return "s_";
  const key = first[1].replace(/[^A-Za-z0-9_]/g, "_");
  return first[2].slice(0, first[2].length - key.length);
}

/** Every active state of an XState value as dotted paths ("bakePizza", "bakePizza.waiting"). */
export function activePaths(value, parent = "") {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return [parent ? `${parent}.${value}` : value];
  const paths = [];
  for (const [key, child] of Object.entries(value)) {
    const here = parent ? `${parent}.${key}` : key;
    paths.push(here, ...activePaths(child, here));
  }
  return paths;
}

function innermost(paths) {
  return paths.filter((path) => !paths.some((other) => other.startsWith(`${path}.`)));
}

const MERMAID = "/app/static/mermaid-11.17.2.min.js";
let mermaidLoading = null;
const charts = new WeakMap(); // box -> the chart drawn in it: { text, svgId, prefix }

/** Mermaid, loaded once: 3.6 MB of script that the page's first view need not wait
 * for (pages call it early, without waiting, so it loads while they read the API). */
export function loadMermaid() {
  mermaidLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = BASE + MERMAID;
    script.addEventListener("load", () => {
      window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
      resolve(window.mermaid);
    });
    script.addEventListener("error", () => reject(new Error("the chart renderer did not load")));
    document.head.append(script);
  });
  return mermaidLoading;
}

const PREDRAWN_ID = "statechart"; // infra/charts.py draws with this id

/** The chart `base` as `make charts` drew it once for its definition version
 * (chalicelib/web/assets.py names the file by a hash of the text), or null when there
 * is none (a version not drawn yet, or no Web Crypto: then Mermaid draws it here). */
async function predrawn(base) {
  try {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(base));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const answer = await fetch(`${BASE}/app/static/chart-${hex.slice(0, 16)}.svg`);
    return answer.ok ? await answer.text() : null;
  } catch {
    return null;
  }
}

/** Draw `text` (a Mermaid stateDiagram of chalicelib's engine) into `box`, with the
 * active states highlighted and the states visited before marked. The chart is
 * rendered once; later calls with the same chart only move the marks (a few DOM
 * class changes, so a pushed view is never held up behind a render). */
export async function drawChart(box, text, active, visited = [], taken = null) {
  const base = text.split("\n").filter((line) => !/^\s*class\s/.test(line)).join("\n");
  let chart = charts.get(box);
  if (!chart || chart.text !== base) {
    let drawn = await predrawn(base);
    let svgId = PREDRAWN_ID;
    if (!drawn) {
      const mermaid = await loadMermaid();
      chartCount += 1;
      svgId = `chart-${chartCount}`;
      drawn = (await mermaid.render(svgId, base)).svg;
    }
    const svg = drawn;
    const view = chartView(box);
    view.innerHTML = svg;
    view.querySelector("svg")?.setAttribute("role", "img");
    chart = { text: base, svgId, prefix: prefixOf(base), fresh: true };
    charts.set(box, chart);
  }
  // a compound state filled in would hide its children: mark the innermost states only
  active = innermost(active);
  const marks = [
    ["visited", innermost(visited).filter((path) => !active.includes(path))],
    ["active", active],
  ];
  for (const node of box.querySelectorAll("g.active, g.visited")) node.classList.remove("active", "visited");
  for (const [mark, paths] of marks) {
    for (const path of paths) {
      const id = `${chart.svgId}-state-${nodeId(chart.prefix, path)}-`;
      box.querySelector(`g[id^="${id}"]`)?.classList.add(mark);
    }
  }
  markTaken(box, chart, taken);
  const shownAs = taken ? `at step ${taken.version} (${taken.type}), in` : "now in";
  box.querySelector("svg")?.setAttribute("aria-label", `Statechart; ${shownAs}: ${active.join(", ") || "none"}`);
  const zoom = zoomable(chartView(box), box.querySelector(".chart-tools"));
  if (chart.fresh) {
    chart.fresh = false;
    zoom.fit();
    // a chart taller than its box would be too small to read whole: start at the
    // current state, at the size it was drawn at
    if (zoom.tall()) zoom.focus(box.querySelector("g.active"));
  } else if (taken && zoom.tall()) {
    zoom.focus(box.querySelector("g.active")); // a step of the history: show where it was
  }
}

/** How the chart labels an event (chalicelib/statechart/diagram.py writes them so). */
function edgeEvent(type) {
  const done = type.match(/^xstate\.(done|error)\.actor\.(.+)$/);
  if (done) return `${done[1]}(${done[2]})`;
  const after = type.match(/^xstate\.after\.([^.]+)\./);
  return after ? `after ${after[1]}` : type;
}

/** The chart's transitions in the order Mermaid numbers them (edge0, edge1...): the
 * source and target node ids and the label of every `a --> b : label` line. */
function edgesOf(text) {
  return text
    .split("\n")
    .map((line) => line.match(/^\s*(\S+) --> (\S+)(?: : (.*))?$/))
    .filter(Boolean)
    .map(([, from, to, label]) => ({ from, to, label: label || "" }));
}

/** Mark the transition a history step took (`taken`: { from, to, type }): its arrow,
 * its label and the state it left. */
function markTaken(box, chart, taken) {
  for (const node of box.querySelectorAll(".taken, .source")) node.classList.remove("taken", "source");
  if (!taken?.from) return;
  const ids = (key) => pathsOfKey(key).map((path) => nodeId(chart.prefix, path));
  const sources = ids(taken.from);
  const targets = ids(taken.to);
  const label = edgeEvent(taken.type);
  chart.edges ??= edgesOf(chart.text);
  const fits = chart.edges
    .map((edge, n) => ({ ...edge, n }))
    .filter((edge) => sources.includes(edge.from) && edge.label.startsWith(label));
  const edge = fits.find((e) => targets.includes(e.to)) || fits[0];
  if (edge) {
    box.querySelector(`#${chart.svgId}-edge${edge.n}`)?.classList.add("taken");
    box.querySelector(`.edgeLabel [data-id="edge${edge.n}"]`)?.closest(".edgeLabel")?.classList.add("taken");
  }
  const left = innermost(pathsOfKey(taken.from));
  for (const path of left) {
    box.querySelector(`g[id^="${chart.svgId}-state-${nodeId(chart.prefix, path)}-"]`)?.classList.add("source");
  }
}

/** The chart's tools and the box its drawing is clipped to (made once per chart box). */
function chartView(box) {
  let view = box.querySelector(".chart-view");
  if (!view) {
    const tools = document.createElement("div");
    tools.className = "chart-tools";
    view = document.createElement("div");
    view.className = "chart-view";
    box.replaceChildren(tools, view);
  }
  return view;
}

/** "2026-11-29T10:00:04.027Z" -> local time with milliseconds. */
export function clockTime(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso || "";
  return at.toLocaleTimeString([], { hour12: false }) + `.${String(at.getMilliseconds()).padStart(3, "0")}`;
}

/** A history table body: one row per committed transition, newest last; `onPick(i)`
 * (time travel) makes each version a button that shows that step on the chart. */
export function historyRows(tbody, transitions, onPick = null) {
  tbody.replaceChildren(
    ...transitions.map((t, i) => {
      const row = document.createElement("tr");
      row.dataset.version = t.version;
      const first = document.createElement("td");
      if (onPick) {
        const pick = button(`v${t.version}`, () => onPick(i));
        pick.className = "step";
        pick.setAttribute("aria-label", `v${t.version}: show step ${i + 1} (${t.eventType}) on the chart`);
        first.append(pick);
      } else {
        first.textContent = t.version ?? "";
      }
      row.append(first);
      for (const text of [clockTime(t.time), t.eventType, t.source, t.from || "(start)", t.to]) {
        const cell = document.createElement("td");
        cell.textContent = text ?? "";
        row.append(cell);
      }
      return row;
    }),
  );
}

/** 2450 cents -> "24.50" (prices and totals; the shop names no currency). */
export function money(cents) {
  return typeof cents === "number" ? (cents / 100).toFixed(2) : "";
}

/** One pizza in words: "Hawaii deluxe, large: mango, pineapple". */
export function pizzaWords(item) {
  return `${item.name}, ${item.size}: ${item.toppings.join(", ") || "no toppings"}`;
}

/** Record when a view was drawn (bench/browser.py reads these marks). */
export function markDrawn(version) {
  performance.mark(`drawn:v${version}`);
}

/** ``work`` run one call at a time: a call while it runs is answered by that run, and
 * makes it run once more afterwards (a change arrived during a read: read again). */
export function coalesced(work) {
  let running = null;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        await work();
      } finally {
        running = null;
        if (again) {
          again = false;
          run();
        }
      }
    })();
    return running;
  };
  return run;
}
