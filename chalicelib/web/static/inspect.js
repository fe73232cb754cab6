// The inspector: any instance of any workflow, its chart, history, snapshot, outbox
// and timers, redrawn whenever the instance commits a transition.
import {
  ApiError, BASE, activePaths, api, clockTime, coalesced, connectionWords, drawChart, follow, historyRows,
  say, signIn, takeTokenFromFragment, token,
} from "./console.js";
import { pathsOfKey, stepFacts, stepper } from "./travel.js";

const $ = (id) => document.getElementById(id);
const [workflow, instanceId] = window.location.pathname
  .split("/").slice(-2).map(decodeURIComponent);
const instancePath = (name, id) => `/workflows/${encodeURIComponent(name)}/instances/${encodeURIComponent(id)}`;
const base = instancePath(workflow, instanceId);
const MAX_ANCESTORS = 5; // a child's id holds its parent's: ids of 128 characters nest about 3 deep


function showError(error) {
  say($("error"), error instanceof ApiError ? error.message : String(error?.message || error));
}

function summary(instance) {
  const facts = [
    ["state", JSON.stringify(instance.state ?? instance.snapshot?.value)],
    ["status", instance.status],
    ["version", instance.version],
    ["chart", instance.definition == null ? "" : `version ${instance.definition}`],
    ["accepts", (instance.nextEvents || []).join(", ") || "nothing"],
    ["created", clockTime(instance.createdAt)],
    ["updated", clockTime(instance.updatedAt)],
  ];
  $("summary").replaceChildren(
    ...facts.map(([term, value]) => {
      const pair = document.createElement("div");
      const name = document.createElement("dt");
      name.textContent = term;
      const text = document.createElement("dd");
      text.textContent = value ?? "";
      pair.append(name, text);
      return pair;
    }),
  );
}

function outbox(messages) {
  if (!messages.length) {
    const empty = document.createElement("tr");
    empty.innerHTML = '<td colspan="6" class="empty">Nothing pending.</td>';
    $("outbox").replaceChildren(empty);
    return;
  }
  $("outbox").replaceChildren(
    ...messages.map((m) => {
      const line = document.createElement("tr");
      for (const text of [m.kind, m.type, [m.seq].flat().join("."), m.attempts, m.dueAt ? clockTime(m.dueAt) : "", m.messageId]) {
        const cell = document.createElement("td");
        cell.textContent = text ?? "";
        line.append(cell);
      }
      return line;
    }),
  );
}

// -- parent and children --------------------------------------------------------------------

/** A state value in one line: "bakePizza", "baking.inOven", "a.x, b.y" (parallel). */
function stateWords(value) {
  if (value === null || value === undefined) return "not started";
  if (typeof value === "string") return value;
  return Object.entries(value).map(([key, child]) => {
    const inner = stateWords(child);
    return typeof child === "string" || (child && Object.keys(child).length === 1) ? `${key}.${inner}` : `${key} (${inner})`;
  }).join(", ");
}

/** One instance of the tree: what the instance answer (or its parent's list) says of it. */
function node(name, id, answer, actor = null) {
  const kids = Object.entries(answer?.actors?.children || {}).map(([kid, c]) => ({
    workflow: c.workflow, id: c.id, actor: kid, value: c.value, status: c.status, kids: [],
  }));
  return { workflow: name, id, actor, value: answer ? stateWords(answer.state) : null, status: answer?.status, kids };
}

/** This instance's ancestors, root first, each with its answer (null when it cannot be
 * read): one read each, up to MAX_ANCESTORS. */
async function ancestors(instance) {
  const chain = [];
  let up = instance.actors?.parent;
  while (up && chain.length < MAX_ANCESTORS) {
    const answer = await api("GET", instancePath(up.workflow, up.id)).catch(() => null);
    chain.unshift(node(up.workflow, up.id, answer, answer?.actors?.parent?.actor ?? null));
    up = answer?.actors?.parent;
  }
  return chain;
}

function branch(item) {
  const entry = document.createElement("li");
  entry.dataset.instance = item.id;
  const name = `${item.workflow} ${item.actor || item.id.slice(0, 8)}`;
  let label;
  if (item.id === instanceId && item.workflow === workflow) {
    label = document.createElement("strong");
    label.setAttribute("aria-current", "page");
    label.textContent = `${name} (this one)`;
  } else {
    label = document.createElement("a");
    label.className = "target";
    label.href = `${BASE}/app/inspect/${encodeURIComponent(item.workflow)}/${encodeURIComponent(item.id)}`;
    label.textContent = name;
  }
  const state = document.createElement("span");
  state.className = "connection";
  state.textContent = ` ${[item.value, item.status].filter(Boolean).join(" · ")}`;
  entry.append(label, state);
  if (item.kids.length) {
    const list = document.createElement("ul");
    list.append(...item.kids.map(branch));
    entry.append(list);
  }
  return entry;
}

/** The instance's parent and children as a tree to walk: its ancestors up to the root,
 * every child of each (this instance's siblings too), this instance marked, its own
 * children below it; each other instance a link to its inspector page (its own chart).
 * Hidden for an instance with neither parent nor children. */
async function drawFamily(instance) {
  const actors = instance.actors || {};
  if (!actors.parent && !Object.keys(actors.children || {}).length) {
    $("family").hidden = true;
    return;
  }
  const path = [...(await ancestors(instance)), node(workflow, instanceId, instance, actors.parent?.actor ?? null)];
  for (const [i, item] of path.slice(0, -1).entries()) {
    const next = path[i + 1]; // listed among its parent's children (or not yet: added)
    const listed = item.kids.find((kid) => kid.id === next.id);
    next.actor ??= listed?.actor ?? null;
    item.kids = listed ? item.kids.map((kid) => (kid === listed ? next : kid)) : [...item.kids, next];
  }
  $("tree").replaceChildren(branch(path[0]));
  $("family").hidden = false;
}

/** Read the instance and its history and draw them; a call during a read reads again after it. */
const load = coalesced(async () => {
  try {
    const [instance, history] = await Promise.all([api("GET", base), api("GET", `${base}/history`)]);
    $("instance").hidden = false;
    summary(instance);
    const parent = instance.actors?.parent; // a child's id starts with its parent's: say whose
    if (parent) $("title").textContent = `${workflow} ${parent.actor} of ${parent.workflow} ${parent.id.slice(0, 8)}`;
    await drawFamily(instance);
    outbox(instance.outbox || []);
    $("timers").textContent = JSON.stringify({ timers: instance.timers || {}, invokes: instance.invokes || {} }, null, 2);
    $("snapshot").textContent = JSON.stringify(instance.snapshot, null, 2);
    latest = { instance, transitions: history.transitions };
    historyRows($("history"), history.transitions, (i) => travel.pick(i));
    travel.show(history.transitions.length);
    await (travel.travelling === null ? drawLive() : drawStep(travel.travelling));
    $("instance").dataset.version = instance.version;
  } catch (error) {
    showError(error);
  }
});

let latest = null; // { instance, transitions } as last read

/** The chart as the instance is now. */
async function drawLive() {
  const { instance, transitions } = latest;
  $("step-facts").hidden = true;
  for (const row of $("history").querySelectorAll("tr.picked")) row.classList.remove("picked");
  const visited = transitions.flatMap((t) => [t.from, t.to].filter(Boolean));
  await drawChart($("chart"), instance.mermaid, activePaths(instance.snapshot?.value ?? instance.state), visited);
}

/** The chart, the state, the event and the context as they were after step `i`. */
async function drawStep(i) {
  const { instance, transitions } = latest;
  const t = transitions[i];
  const active = t.snapshot ? activePaths(t.snapshot.value) : pathsOfKey(t.to);
  const visited = transitions.slice(0, i + 1).flatMap((s) => [s.from, s.to].filter(Boolean));
  for (const row of $("history").querySelectorAll("tr")) {
    row.classList.toggle("picked", row.dataset.version === String(t.version));
  }
  $("step-facts").hidden = false;
  stepFacts($("step-facts"), [
    ["step", `${i + 1} of ${transitions.length}: version ${t.version} at ${clockTime(t.time)}, from ${t.source}`],
    ["took", `${t.from || "(start)"} → ${t.to} on ${t.eventType}`],
    ["event", t.event ?? "(not kept)"],
    ["context", t.snapshot ? t.snapshot.context : "(this step cannot be replayed)"],
  ]);
  await drawChart($("chart"), instance.mermaid, active, visited, {
    from: t.from, to: t.to, type: t.eventType, version: t.version,
  });
}

const travel = stepper($("travel"), (i) => drawStep(i).catch(showError), () => drawLive().catch(showError));

async function start() {
  if (!token()) {
    say($("error"), "Sign in (top right) as a staff member to inspect instances.");
    return;
  }
  say($("error"), "");
  await load();
  follow(workflow, instanceId, () => load(), (status) => {
    $("connection").textContent = connectionWords(status);
  });
}

takeTokenFromFragment();
$("title").textContent = `${workflow} ${instanceId.slice(0, 8)}`;
signIn($("sign-in"), start).catch(showError);
start();
