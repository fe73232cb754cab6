// Order chart version 3 and its pizza children in XState v5's actor system: the actions,
// guards and delays of chalicelib/orders (workflow.py, fanout.py) and
// chalicelib/pizzas/workflow.py written again with XState's own action creators, run by
// tests/statechart/xstate/system.js. A case carries `slots` (K, as ORDER_OVEN_SLOTS).
// stdin: [{machines, root, slots, commands}]; stdout: [{steps} | {error}] as system.js.
'use strict';
const path = require('path');
const XSTATE_DIR = path.join(__dirname, '..', '..', 'statechart', 'xstate');
const { assign, enqueueActions } = require(require.resolve('xstate', { paths: [XSTATE_DIR] }));
const { runCases } = require(path.join(XSTATE_DIR, 'system.js'));
const { convert } = require(path.join(XSTATE_DIR, 'vocabulary.js'));

const MAX_ITEMS = 50;
const MAX_ATTEMPTS = 3;
const MAX_BAKES = 2;
const SEND_ATTEMPTS = 3;
const RUNNING = ['queued', 'inOven'];

const touch = (context, event) => {
  const time = event.time || context.updatedAt;
  return { updatedAt: time, createdAt: context.createdAt || time };
};
const report = (event) => event.data || {};
const withState = (pizzas, ids, changes) =>
  pizzas.map((p) => (ids.includes(p.itemId) ? { ...p, ...changes } : p));
const backoff = (key) => ({ context }) => 1000 * 2 * 2 ** Math.max(0, context[key] - 1);

function orderActions(slots) {
  return {
    updateStatus: assign((_, params) => ({ status: params.message })),
    addPizzaToItems: assign(({ context, event }) => ({
      items: [...context.items, { itemId: `item-${context.nextItemNo}`, ...event.pizza }],
      nextItemNo: context.nextItemNo + 1,
      ...touch(context, event),
    })),
    setDeliveryReport: assign(({ context, event }) => ({ delivery: event.data ?? null, ...touch(context, event) })),
    resetAttempts: assign((_, params) => ({ [params.key]: 0 })),
    countAttempt: assign(({ context }, params) => ({ [params.key]: context[params.key] + 1 })),
    setReason: assign((_, params) => ({ cancelReason: params.reason })),
    explainCancellation: assign(({ context }) =>
      context.cancelReason ? { status: `Order cancelled: ${context.cancelReason}.` } : {}),
    spawnPizzas: enqueueActions(({ context, enqueue }) => {
      for (const item of context.items) {
        const { itemId, ...pizza } = item;
        enqueue.spawnChild('pizza', { id: itemId, input: { orderId: context.orderId, itemId, pizza } });
      }
      const pizzas = context.items.map((i) => ({ itemId: i.itemId, state: 'queued', output: null }));
      enqueue.assign({ pizzas });
    }),
    grantOvenSlots: enqueueActions(({ context, enqueue }) => {
      const { pizzas } = context;
      if (pizzas.some((p) => p.state === 'failed')) return;
      const free = slots - pizzas.filter((p) => p.state === 'inOven').length;
      const chosen = pizzas.filter((p) => p.state === 'queued').slice(0, Math.max(0, free)).map((p) => p.itemId);
      for (const id of chosen) enqueue.sendTo(id, { type: 'OVEN_SLOT' });
      if (chosen.length) enqueue.assign(({ context: c }) => ({ pizzas: withState(c.pizzas, chosen, { state: 'inOven' }) }));
    }),
    stopPizzas: enqueueActions(({ context, enqueue }) => {
      const running = context.pizzas.filter((p) => RUNNING.includes(p.state)).map((p) => p.itemId);
      for (const id of running) enqueue.stopChild(id);
      if (running.length) enqueue.assign(({ context: c }) => ({ pizzas: withState(c.pizzas, running, { state: 'stopped' }) }));
    }),
    recordPizza: assign(({ context, event }) => {
      const id = event.type.slice('xstate.done.actor.'.length);
      const output = event.output && typeof event.output === 'object' ? event.output : {};
      const state = output.baked === true ? 'baked' : 'failed';
      return { pizzas: withState(context.pizzas, [id], { state, output }), ...touch(context, event) };
    }),
    setReasonFromPizzas: assign(({ context }) => {
      const failed = context.pizzas.find((p) => p.state === 'failed');
      const item = context.items.find((i) => i.itemId === failed.itemId);
      const name = (item && item.name) || failed.itemId;
      const why = (failed.output || {}).reason || 'no reason given';
      return { cancelReason: `the pizza ${name} could not be baked (${why})` };
    }),
    // the pizza's own (no name is shared with the order's but updateStatus, the same)
    startBake: assign(({ context }) => ({
      attempts: context.attempts + 1,
      sends: 0,
      bakeId: `${context.orderId}.${context.itemId}.${context.attempts + 1}`,
      reason: null,
    })),
    countSend: assign(({ context }) => ({ sends: context.sends + 1 })),
    recordBake: assign(({ event }) => ({ baked: true, by: report(event).by ?? null, at: report(event).at ?? null })),
    recordBurn: assign(({ event }) => ({ reason: report(event).reason || 'burnt' })),
    recordFailure: assign((_, params) => ({ reason: params.reason })),
    explainFailure: assign(({ context }) => ({ status: `Could not be baked: ${context.reason}.` })),
  };
}

const guards = {
  hasPizzas: ({ context }) => context.items.length > 0,
  hasRoom: ({ context }) => context.items.length < MAX_ITEMS,
  hasItem: ({ context, event }) => context.items.some((i) => i.itemId === event.itemId),
  attemptsExhausted: ({ context }, params) => context[params.key] >= MAX_ATTEMPTS,
  isPizza: ({ context, event }) =>
    context.pizzas.some((p) => p.itemId === event.type.slice('xstate.error.actor.'.length)),
  pizzaFailed: ({ context }) => context.pizzas.some((p) => p.state === 'failed'),
  allPizzasBaked: ({ context }) => context.pizzas.length > 0 && context.pizzas.every((p) => p.state === 'baked'),
  isCurrentBake: ({ context, event }) => report(event).bakeId === context.bakeId,
  mayBakeAgain: ({ context }) => context.attempts < MAX_BAKES,
  sendsExhausted: ({ context }) => context.sends >= SEND_ATTEMPTS,
};

const delays = {
  kitchenRetry: backoff('kitchenAttempts'),
  deliveryRetry: backoff('deliveryAttempts'),
  kitchenTimeout: 15 * 60 * 1000,
  kitchenGiveUp: 15 * 60 * 1000,
  deliveryTimeout: 45 * 60 * 1000,
  deliveryGiveUp: 30 * 60 * 1000,
  ovenTimeout: 20 * 60 * 1000,
  ovenRetry: backoff('sends'),
};

// The pizza chart's Python context factory and output, by the names the JSON gives them.
const PYTHON = {
  pizza_context: ({ input }) => {
    const given = input && typeof input === 'object' ? input : {};
    return {
      orderId: given.orderId ?? null, itemId: given.itemId ?? null, pizza: given.pizza ?? null,
      status: null, attempts: 0, sends: 0, bakeId: null, baked: false, by: null, at: null, reason: null,
    };
  },
  pizza_output: ({ context: c }) => (c.baked
    ? { itemId: c.itemId, baked: true, by: c.by, at: c.at, attempts: c.attempts }
    : { itemId: c.itemId, baked: false, reason: c.reason, attempts: c.attempts }),
};

function convertMachine(config) {
  const out = convert(config);
  for (const key of ['context', 'output']) {
    const named = config[key] && config[key].$python;
    if (named) {
      if (!PYTHON[named]) throw new Error(`no JavaScript for the Python ${key} ${named}`);
      out[key] = PYTHON[named];
    }
  }
  return out;
}

const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const vocabFor = (c) => ({ actions: orderActions(c.slots), guards, delays, convertMachine });
process.stdout.write(JSON.stringify(runCases(cases, vocabFor)));
