// Runs parent + child machine systems through XState v5's actor system (createActor,
// setup({ actors })), with a simulated clock, and reports after each command the
// tree of actors and what happened, in the shape of chalicelib/statechart/system.py.
// stdin: [{machines: {src: config}, root, input, commands: [{send, to?} | {advance}]}]
// stdout: [{steps: [{tree, trace}]} | {error}] (step 0 is the start).
'use strict';
const { setup, createActor } = require('xstate');
const vocabulary = require('./vocabulary.js');

function names(node, into) {
  if (Array.isArray(node)) { node.forEach((n) => names(n, into)); return; }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'entry' || key === 'exit' || key === 'actions') {
      for (const a of [].concat(value)) into.add(typeof a === 'string' ? a : a.type);
    } else names(value, into);
  }
}

// Timers fire in due order, then in the order they were set, as in system.py.
function simulatedClock() {
  const timers = new Map();
  let now = 0;
  let seq = 0;
  return {
    setTimeout(fn, ms) { seq += 1; timers.set(seq, { due: now + ms, seq, fn }); return seq; },
    clearTimeout(handle) { timers.delete(handle); },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const t of timers.values()) {
          if (t.due <= end && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
        }
        if (!next) break;
        timers.delete(next.seq);
        now = next.due;
        next.fn();
      }
      now = end;
    },
  };
}

function pathOf(ref) {
  return ref._parent ? `${pathOf(ref._parent)}/${ref.id}` : ref.id;
}

function errorOf(error) {
  if (error === undefined) return null;
  return error instanceof Error ? error.message : error;
}

function tree(root, rootSrc) {
  const out = [];
  const visit = (ref) => {
    const s = ref.getSnapshot();
    const kids = s.status === 'stopped' ? [] : Object.keys(s.children || {});
    out.push({
      path: pathOf(ref), src: ref._parent ? ref.src : rootSrc, status: s.status,
      value: s.value === undefined ? null : s.value,
      context: s.context === undefined ? null : s.context,
      output: s.output === undefined ? null : s.output, error: errorOf(s.error), children: kids,
    });
    for (const id of kids) if (s.children[id]) visit(s.children[id]);
  };
  visit(root);
  return out;
}

// `vocab` ({actions, guards, delays, convertMachine}): the test vocabulary unless a
// caller runs machines of its own (tests/orders/xstate/fanout.js).
function runCase({ machines, root, input, commands }, vocab = vocabulary) {
  const { actions, guards, delays, convertMachine } = vocab;
  const registry = {};
  const used = new Set();
  names(machines, used);
  const impl = { ...actions };
  for (const name of used) if (!(name in impl) && !name.startsWith('xstate.')) impl[name] = () => {};
  for (const [src, config] of Object.entries(machines)) {
    registry[src] = setup({ actions: impl, guards, delays, actors: registry })
      .createMachine(convertMachine(config));
  }
  let trace = [];
  const clock = simulatedClock();
  const inspect = (ev) => {
    if (ev.type === '@xstate.event') {
      trace.push(['event', ev.sourceRef ? pathOf(ev.sourceRef) : null, pathOf(ev.actorRef), ev.event.type]);
    } else if (ev.type === '@xstate.action' && !ev.action.type.startsWith('xstate.')) {
      const p = ev.action.params;
      trace.push(['action', pathOf(ev.actorRef), ev.action.type, p === undefined ? null : p]);
    } else if (ev.type === '@xstate.snapshot' && ev.actorRef.logic.config) {
      trace.push(['snapshot', pathOf(ev.actorRef), ev.event.type, ev.snapshot.status]);
    }
  };
  const actor = createActor(registry[root], { id: 'root', input, clock, inspect });
  actor.subscribe({ error: () => {} }); // a failed root is a result here, not a crash
  actor.start();
  const steps = [{ tree: tree(actor, root), trace }];
  for (const command of commands) {
    trace = [];
    if (command.advance !== undefined) {
      clock.advance(command.advance);
    } else {
      let target = actor;
      for (const part of (command.to || 'root').split('/').slice(1)) {
        target = target && target.getSnapshot().children[part];
      }
      if (target) target.send(command.send);
    }
    steps.push({ tree: tree(actor, root), trace });
  }
  return { steps };
}

function runCases(cases, vocabFor = () => vocabulary) {
  return cases.map((c) => {
    try {
      return runCase(c, vocabFor(c));
    } catch (err) {
      return { error: String(err && err.message) };
    }
  });
}

if (require.main === module) {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  process.stdout.write(JSON.stringify(runCases(input)));
}

module.exports = { runCase, runCases };
