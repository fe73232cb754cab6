// Runs conformance cases through XState v5's pure initialTransition/transition.
// stdin: [{config, events}], stdout: [{steps} | {error}] with one step per event
// (the first is the initial transition). The action/guard/delay vocabulary here
// mirrors tests/statechart/vocabulary.py.
'use strict';
const { setup, fromCallback, createActor, initialTransition, transition } = require('xstate');
const { actions, guards, delays, convertMachine } = require('./vocabulary.js');

function collectNames(node, into) {
  if (Array.isArray(node)) { node.forEach((n) => collectNames(n, into)); return; }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'entry' || key === 'exit' || key === 'actions') {
      for (const a of [].concat(value)) {
        into.actions.add(typeof a === 'string' ? a : a.type);
        if (a && a.type === 'xstate.spawnChild') into.actors.add(a.src);
      }
    } else if (key === 'src') {
      into.actors.add(value);
    } else {
      collectNames(value, into);
    }
  }
}

function normalizeActions(list) {
  const out = [];
  for (const a of list) {
    const p = a.params;
    if (a.type === 'xstate.raise') {
      if (typeof p.delay === 'number') {
        out.push({ kind: 'schedule', id: p.id, event: p.event.type, delay: p.delay });
      }
    } else if (a.type === 'xstate.cancel') {
      out.push({ kind: 'cancel_schedule', id: p.sendId });
    } else if (a.type === 'xstate.sendTo') {
      const special = { '#_internal': null, '#_parent': '#_parent' };
      const to = p.targetId in special ? special[p.targetId] : p.to.id;
      if (typeof p.delay === 'number') {
        // XState draws a random id for a send without one; ours is the event type
        const id = p.id === undefined ? p.event.type : p.id;
        out.push({ kind: 'schedule', id, event: p.event.type, delay: p.delay, to });
      } else {
        out.push({ kind: 'send_to', to, event: p.event.type });
      }
    } else if (a.type === 'xstate.spawnChild') {
      out.push({ kind: 'invoke', id: p.id, type: p.src, input: p.input === undefined ? null : p.input });
    } else if (a.type === 'xstate.stopChild') {
      // a stop of a child the snapshot does not have resolves to no actor: a no-op
      if (p) out.push({ kind: 'cancel_invoke', id: p.id });
    } else if (a.type === 'xstate.assign') {
      // assign is applied inside the transition; nothing to run afterwards
    } else {
      out.push({ kind: 'action', type: a.type, params: p === undefined ? null : p });
    }
  }
  return out;
}

function view(snapshot, acts, probes) {
  return {
    tags: [...snapshot.tags].sort(),
    meta: snapshot.getMeta(),
    can: probes.map((e) => snapshot.status === 'active' && snapshot.can(e)),
    value: snapshot.value,
    context: snapshot.context,
    status: snapshot.status,
    output: snapshot.output === undefined ? null : snapshot.output,
    error: snapshot.error === undefined ? null : snapshot.error,
    effects: normalizeActions(acts),
  };
}

// What a stored snapshot gives back, as XState persists and restores it: the active
// nodes are rebuilt from the state value (completed), and the value from them.
function restored(machine, scope, snapshot) {
  const stored = JSON.parse(JSON.stringify(machine.getPersistedSnapshot(snapshot)));
  return machine.restoreSnapshot(stored, scope);
}

// restore: false chains the snapshots in memory, as one actor would.
function runCase({ config, events, restore = true }) {
  const names = { actions: new Set(), actors: new Set() };
  collectNames(config, names);
  const impl = { ...actions };
  for (const name of names.actions) {
    if (!(name in impl) && !name.startsWith('xstate.')) impl[name] = () => {};
  }
  const actors = {};
  for (const src of [...names.actors, 'kid', 'leaf']) actors[src] = fromCallback(() => () => {});
  const machine = setup({ actions: impl, guards, delays, actors }).createMachine(
    convertMachine(config),
  );
  const scope = { self: createActor(machine) };
  let [snapshot, acts] = initialTransition(machine);
  const steps = [view(snapshot, acts, events)];
  for (const event of events) {
    if (snapshot.status !== 'active') break;
    const current = restore ? restored(machine, scope, snapshot) : snapshot;
    [snapshot, acts] = transition(machine, current, event);
    steps.push(view(snapshot, acts, events));
  }
  return { steps };
}

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const results = input.map((c) => {
  try {
    return runCase(c);
  } catch (err) {
    return { error: String(err && err.message) };
  }
});
process.stdout.write(JSON.stringify(results));
