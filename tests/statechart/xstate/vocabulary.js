// The actions, guards and delays conformance machines use, mirrored in
// tests/statechart/vocabulary.py, and the conversion of our JSON configs (data
// guards, JSON actor actions, a context taken from input) into XState's.
'use strict';
const {
  assign, raise, cancel, sendTo, sendParent, spawnChild, stopChild, enqueueActions, and, or, not,
  stateIn,
} = require('xstate');

const actions = {
  inc: assign({ n: ({ context }) => context.n + 1 }),
  dec: assign({ n: ({ context }) => context.n - 1 }),
  dbl: assign({ n: ({ context }) => context.n * 2 }),
  setN: assign({ n: ({ event }) => (typeof event.n === 'number' ? event.n : 0) }),
  track: assign({ log: ({ context, event }) => [...context.log, event.type] }),
  raiseX: raise({ type: 'X' }),
  raiseY: raise({ type: 'Y' }),
  raiseDelayed: raise({ type: 'LATER' }, { delay: 50, id: 'later' }),
  cancelDeadline: cancel('deadline'),
  tellParent: sendParent(({ context }) => ({ type: 'K', n: context.n })),
  // one child per count, ids k<next>, k<next+1>, ... (unique for the parent's life)
  fanOut: enqueueActions(({ context, enqueue }, params) => {
    const ids = [];
    for (let j = 0; j < params.count; j++) {
      const id = `k${context.next + j}`;
      ids.push(id);
      enqueue.spawnChild(params.src, { id, input: { i: context.next + j, n: context.n } });
    }
    enqueue.assign({ next: context.next + params.count, kids: [...context.kids, ...ids] });
  }),
  stopOldest: enqueueActions(({ context, enqueue }) => {
    if (context.kids.length) {
      enqueue.stopChild(context.kids[0]);
      enqueue.assign({ kids: context.kids.slice(1) });
    }
  }),
  pingKids: enqueueActions(({ context, enqueue }, params) => {
    for (const id of context.kids) enqueue.sendTo(id, { type: params.type });
  }),
  checkRaise: enqueueActions(({ enqueue, check }) => {
    if (check('isPos')) enqueue.raise({ type: 'X' });
    else enqueue('p1');
  }),
};
const guards = {
  isPos: ({ context }) => context.n > 0,
  isEven: ({ context }) => context.n % 2 === 0,
  flag: ({ event }) => event.flag === true,
  gt: ({ context }, params) => context.n > params.k,
  lt: ({ context }, params) => context.n < params.k,
};
const delays = { D1: 100, D2: 250, Dyn: ({ context }) => 10 * (context.n + 1) };

function toGuard(g) {
  if (g === undefined || typeof g === 'string') return g;
  const kind = g.type.replace(/^xstate\./, '');
  if (kind === 'and') return and(g.guards.map(toGuard));
  if (kind === 'or') return or(g.guards.map(toGuard));
  if (kind === 'not') return not(toGuard(g.guard));
  if (kind === 'stateIn') return stateIn(g.state);
  return g;
}

// Our JSON forms of XState's actor actions, as XState's action creators.
function toAction(a) {
  if (a === null || typeof a !== 'object') return a;
  const opts = (o) => {
    const out = {};
    if (o.delay !== undefined) out.delay = o.delay;
    if (o.id !== undefined) out.id = o.id;
    return out;
  };
  switch (a.type) {
    case 'xstate.spawnChild': return spawnChild(a.src, { id: a.id, input: a.input });
    case 'xstate.stopChild': return stopChild(a.id);
    case 'xstate.sendTo': return sendTo(a.to, a.event, opts(a));
    case 'xstate.sendParent': return sendParent(a.event, opts(a));
    default: return a;
  }
}

// Deep-copies a config, turning our data guards and actor actions into XState's.
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'guard') out[key] = toGuard(value);
    else if (key === 'entry' || key === 'exit' || key === 'actions') {
      out[key] = Array.isArray(value) ? value.map(toAction) : toAction(value);
    } else out[key] = convert(value);
  }
  return out;
}

// A root context with an `input` key takes the actor's input there (XState's
// context factory), as tests/statechart/vocabulary.py's build() does.
function convertMachine(config) {
  const out = convert(config);
  const base = config.context;
  if (base && typeof base === 'object' && 'input' in base) {
    out.context = ({ input }) => ({ ...base, input: input === undefined ? null : input });
  }
  return out;
}

module.exports = { actions, guards, delays, convert, convertMachine };
