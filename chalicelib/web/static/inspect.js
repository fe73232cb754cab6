// The inspector: any instance of any workflow, its chart, history, snapshot, outbox
// and timers, redrawn whenever the instance commits a transition.
import {
  ApiError, activePaths, api, clockTime, coalesced, connectionWords, drawChart, follow, historyRows,
  say, signIn, takeTokenFromFragment, token,
} from "./console.js";
import { pathsOfKey, stepFacts, stepper } from "./travel.js";

const $ = (id) => document.getElementById(id);
const [workflow, instanceId] = window.location.pathname
  .split("/").slice(-2).map(decodeURIComponent);
const base = `/workflows/${encodeURIComponent(workflow)}/instances/${encodeURIComponent(instanceId)}`;


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

/** Read the instance and its history and draw them; a call during a read reads again after it. */
const load = coalesced(async () => {
  try {
    const [instance, history] = await Promise.all([api("GET", base), api("GET", `${base}/history`)]);
    $("instance").hidden = false;
    summary(instance);
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
