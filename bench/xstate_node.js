// The engine benchmark's scenarios in XState itself (the xstate@5 the conformance tests
// install): restore the stored JSON, apply the event(s), serialise the snapshot to store.
// stdin: {config, timing, limits, orderContext, scenarios, batches, perBatch} from
// bench/engine.py; stdout: {results: {S0: µs, ...}, finals: {S0: {value, context}, ...}}.
// The actions, guards and delays mirror chalicelib/orders/workflow.py.
'use strict';
const path = require('path');

const xstate = require(path.join(__dirname, '..', 'tests', 'statechart', 'xstate',
  'node_modules', 'xstate'));
const { setup, assign, createActor, fromCallback, initialTransition } = xstate;

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const { timing, limits } = input;

const touch = (context, event) => {
  const time = event.time || context.updatedAt || null;
  return { updatedAt: time, createdAt: context.createdAt || time };
};
const record = (key, field) => assign(({ context, event }) => ({
  [key]: event[field] === undefined ? null : event[field], ...touch(context, event),
}));
const backoff = (key) => ({ context }) => Math.trunc(
  1000 * timing.retry * 2 ** Math.max(0, context[key] - 1));
const noop = () => {};

const machine = setup({
  actions: {
    addPizzaToItems: assign(({ context, event }) => ({
      items: [...context.items, { itemId: `item-${context.nextItemNo}`, ...event.pizza }],
      nextItemNo: context.nextItemNo + 1,
      ...touch(context, event),
    })),
    removePizzaFromItems: assign(({ context, event }) => ({
      items: context.items.filter((i) => i.itemId !== event.itemId), ...touch(context, event),
    })),
    updateStatus: assign((_, params) => ({ status: params.message })),
    setKitchenReport: record('kitchen', 'data'),
    setDeliveryReport: record('delivery', 'data'),
    resetAttempts: assign((_, params) => ({ [params.key]: 0 })),
    countAttempt: assign(({ context }, params) => ({ [params.key]: context[params.key] + 1 })),
    setReason: assign((_, params) => ({ cancelReason: params.reason })),
    setReasonFromReport: assign(({ event }) => ({
      cancelReason: (event.data || {}).reason || 'rejected',
    })),
    explainCancellation: assign(({ context }) => (context.cancelReason
      ? { status: `Order cancelled: ${context.cancelReason}.` } : {})),
    escalate: noop,
    log: noop,
  },
  guards: {
    hasPizzas: ({ context }) => context.items.length > 0,
    hasRoom: ({ context }) => context.items.length < limits.maxItems,
    hasItem: ({ context, event }) => context.items.some((i) => i.itemId === event.itemId),
    attemptsExhausted: ({ context }, params) => context[params.key] >= limits.maxAttempts,
  },
  delays: {
    kitchenRetry: backoff('kitchenAttempts'),
    deliveryRetry: backoff('deliveryAttempts'),
    kitchenTimeout: Math.trunc(1000 * timing.kitchen_timeout),
    kitchenGiveUp: Math.trunc(1000 * timing.kitchen_give_up),
    deliveryTimeout: Math.trunc(1000 * timing.delivery_timeout),
    deliveryGiveUp: Math.trunc(1000 * timing.delivery_give_up),
  },
  actors: {
    orderPizzaFromKitchen: fromCallback(() => noop),
    orderDeliveryFromDelivery: fromCallback(() => noop),
    cancelPizzaAtKitchen: fromCallback(() => noop),
  },
}).createMachine({ ...input.config, context: { ...input.config.context, ...input.orderContext } });

// One actor scope for the whole run, as a warm process would keep: XState's pure
// transition() builds a fresh one (running the initial transition) on every call.
const self = createActor(machine);
let executed = [];
const scope = {
  self, system: self.system, id: '', sessionId: '', defer: noop, logger: noop,
  stopChild: noop, emit: noop, actionExecutor: (action) => executed.push(action),
};

function step(snapshot, event) {
  executed = [];
  return machine.transition(snapshot, event, scope);
}

const persist = (snapshot) => JSON.stringify(machine.getPersistedSnapshot(snapshot));

// The stored orders, reached the way bench/engine.py reaches ours.
const pizza = { type: 'ADD_PIZZA', pizza: input.pizza };
let [ordering] = initialTransition(machine);
ordering = step(ordering, pizza);
const baking = step(ordering, { type: 'CONFIRM_PIZZA' });
const waiting = step(baking, { type: 'xstate.done.actor.sendOrderToKitchen' });
const stored = { ordering: persist(ordering), waiting: persist(waiting) };

function handler(state, events) {
  const text = stored[state];
  return () => {
    let snapshot = machine.restoreSnapshot(JSON.parse(text), scope);
    for (const event of events) snapshot = step(snapshot, event);
    return persist(snapshot);
  };
}

// CPU time (user + system), as bench/engine.py measures the Python engines
function batchMicros(fn, n) {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i += 1) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const runs = {};
const finals = {};
for (const [name, [state, events]] of Object.entries(input.scenarios)) {
  runs[name] = handler(state, events);
  const final = JSON.parse(runs[name]());
  finals[name] = { value: final.value, context: final.context };
  for (let i = 0; i < 5; i += 1) batchMicros(runs[name], input.perBatch); // JIT warm-up
}
const samples = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
for (let b = 0; b < input.batches; b += 1) {
  for (const [name, fn] of Object.entries(runs)) samples[name].push(batchMicros(fn, input.perBatch));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, median(xs)]));
process.stdout.write(JSON.stringify({ results, finals }));
