// What every page of the console shares: configuration, the token, API calls with
// errors in words, live updates over the websocket, sign-in and the chart.

const TOKEN_KEY = "tropical.token";

let configPromise = null;

/** Where the app is served: "" locally and behind a custom domain, "/<stage>" on an
 * execute-api address (the server writes it into each page). */
export const BASE = document.querySelector('meta[name="api-base"]')?.content || "";

/** The page configuration served by the app (websocket URL, sign-in mode). */
export function config() {
  configPromise ??= fetch(`${BASE}/app/config.json`).then((answer) => {
    if (!answer.ok) throw new Error(`the console configuration is missing (HTTP ${answer.status})`);
    return answer.json();
  });
  return configPromise;
}

/** A token handed over in the address fragment (`#token=`, or an identity provider's
 * `#access_token=` / `#id_token=`) is kept for this browser session and removed from
 * the address, so it is neither bookmarked nor shown. */
export function takeTokenFromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token") || fragment.get("id_token") || fragment.get("access_token");
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, "", window.location.pathname + window.location.search);
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The claims of the current token (not verified: the API does that), or null. */
export function who() {
  const value = token();
  if (!value) return null;
  try {
    const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    return { user: claims.sub, roles: claims.roles || [], expires: claims.exp };
  } catch {
    return null;
  }
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
  const headers = { Authorization: `Bearer ${token() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, null);
  }
  const data = await answer.json().catch(() => null);
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
 * "connecting", "live" or "reconnecting". Returns a handle with `close()`. */
export function follow(workflow, id, onView, onStatus = () => {}) {
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
    const query = new URLSearchParams({ workflow, id, token: token() || "" });
    socket = new WebSocket(`${websocketUrl.replace(/\/$/, "")}/?${query}`);
    socket.addEventListener("open", () => {
      delay = 500;
      onStatus("live");
      socket.send("view");
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
};

export function connectionWords(status) {
  return STATUS_WORDS[status] || status;
}

/** The sign-in box: in the local stack a pick of demo people (tokens minted by the
 * stack's development sign-in); deployed, a link to the identity provider. Calls
 * `onSignedIn` once there is a token. */
export async function signIn(box, onSignedIn) {
  const current = who();
  const settings = await config();
  box.replaceChildren();
  if (current) {
    const line = document.createElement("p");
    line.textContent = `Signed in as ${current.user}${current.roles.length ? ` (${current.roles.join(", ")})` : ""}. `;
    const out = button("Sign out", () => {
      setToken(null);
      window.location.reload();
    });
    line.append(out);
    box.append(line);
    return;
  }
  if (settings.signIn === "development") {
    await developmentSignIn(box, settings.signInUrl, onSignedIn);
  } else if (settings.signInUrl) {
    const link = document.createElement("a");
    const back = encodeURIComponent(window.location.href.split("#")[0]);
    link.href = `${settings.signInUrl}${settings.signInUrl.includes("?") ? "&" : "?"}redirect_uri=${back}`;
    link.textContent = "Sign in";
    box.append(link);
  } else {
    box.textContent = "Sign-in is not configured: open this page with #token=<your token>.";
  }
}

async function developmentSignIn(box, url, onSignedIn) {
  let people;
  try {
    people = await (await fetch(`${url}/people`)).json();
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
    const answer = await fetch(`${url}/token`, {
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

/** Draw `text` (a Mermaid stateDiagram of chalicelib's engine) into `box`, with the
 * active states highlighted and the states visited before marked. The chart is
 * rendered once; later calls with the same chart only move the marks (a few DOM
 * class changes, so a pushed view is never held up behind a render). */
export async function drawChart(box, text, active, visited = []) {
  const base = text.split("\n").filter((line) => !/^\s*class\s/.test(line)).join("\n");
  let chart = charts.get(box);
  if (!chart || chart.text !== base) {
    const mermaid = await loadMermaid();
    chartCount += 1;
    const svgId = `chart-${chartCount}`;
    const { svg } = await mermaid.render(svgId, base);
    box.innerHTML = svg;
    box.querySelector("svg")?.setAttribute("role", "img");
    chart = { text: base, svgId, prefix: prefixOf(base) };
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
  box.querySelector("svg")?.setAttribute("aria-label", `Statechart; now in: ${active.join(", ") || "none"}`);
}

/** "2026-11-29T10:00:04.027Z" -> local time with milliseconds. */
export function clockTime(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso || "";
  return at.toLocaleTimeString([], { hour12: false }) + `.${String(at.getMilliseconds()).padStart(3, "0")}`;
}

/** A history table body: one row per committed transition, newest last. */
export function historyRows(tbody, transitions) {
  tbody.replaceChildren(
    ...transitions.map((t) => {
      const row = document.createElement("tr");
      for (const text of [t.version, clockTime(t.time), t.eventType, t.source, t.from || "(start)", t.to]) {
        const cell = document.createElement("td");
        cell.textContent = text ?? "";
        row.append(cell);
      }
      return row;
    }),
  );
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
