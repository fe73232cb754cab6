// Each pizza of an order in the customer's words, from the order's view (version 3 of
// the order chart bakes every pizza as a child workflow of its own).
//
// The view says where a pizza is twice: `children` (the pizza instance's own state and
// status, read from its record when the view was read or pushed) and `pizzas` (the
// order's record of it: queued, inOven, baked, failed or stopped, with its output once
// the order heard it finished). The child is ahead of the order (a slot granted is
// "inOven" in the order before the pizza hears it), so it wins; the order's record gives
// the reason a pizza could not be baked.

/** What each kind of progress is called on the tracker. */
export const PROGRESS_WORDS = {
  waiting: "Waiting for a free oven",
  entering: "Going into the oven",
  oven: "In the oven",
  baked: "Baked",
  failed: "Could not be baked",
  stopped: "Stopped: not baked",
};

// a pizza never goes back: waiting, then in or into the oven (again, after a burn),
// then one of the ends
const RANK = { waiting: 0, entering: 1, oven: 1, baked: 2, failed: 2, stopped: 2 };

function fromChild(child) {
  if (child.status === "stopped") return "stopped";
  if (child.status === "error") return "failed";
  const value = child.value || "";
  if (child.status === "done") return value === "baked" ? "baked" : "failed";
  if (value === "baking.inOven") return "oven";
  if (value.startsWith("baking")) return "entering";
  return "waiting"; // "queued", or not started yet (no value)
}

const FROM_ORDER = { queued: "waiting", inOven: "entering", baked: "baked", failed: "failed", stopped: "stopped" };

/** Each pizza of `view` as { itemId, childId, workflow, progress, words, reason }, in
 * item order; [] for an order whose pizzas are not baked one by one (no `pizzas` and no
 * `children`). `known` (what the last call returned) keeps a pizza from going back when
 * an older read of it arrives after a newer one (pushes are not ordered). */
export function pizzaProgress(view, known = []) {
  const children = new Map((view.children || []).filter((c) => c.workflow === "pizza").map((c) => [c.actor, c]));
  const recorded = new Map((view.pizzas || []).map((p) => [p.itemId, p]));
  if (!children.size && !recorded.size) return [];
  const before = new Map(known.map((p) => [p.itemId, p]));
  return (view.items || []).map(({ itemId }) => {
    const child = children.get(itemId);
    const record = recorded.get(itemId);
    let progress = child ? fromChild(child) : FROM_ORDER[record?.state] || "waiting";
    const reason = progress === "failed" ? record?.output?.reason || null : null;
    const earlier = before.get(itemId);
    const sameChild = earlier && earlier.childId === (child?.id ?? null);
    if (sameChild && RANK[earlier.progress] > RANK[progress]) return earlier;
    if (sameChild && RANK[earlier.progress] === 2 && earlier.progress !== progress) return earlier;
    const words = PROGRESS_WORDS[progress] + (reason ? `: ${reason}` : "");
    return { itemId, childId: child?.id ?? null, workflow: child?.workflow ?? "pizza", progress, words, reason };
  });
}

/** The pizzas in one line: "1 of 3 baked, 1 in the oven, 1 waiting for a free oven." */
export function progressSummary(pizzas) {
  if (!pizzas.length) return "";
  const count = (...kinds) => pizzas.filter((p) => kinds.includes(p.progress)).length;
  const parts = [`${count("baked")} of ${pizzas.length} baked`];
  const oven = count("oven", "entering");
  const waiting = count("waiting");
  const failed = count("failed");
  const stopped = count("stopped");
  if (oven) parts.push(`${oven} in the oven`);
  if (waiting) parts.push(`${waiting} waiting for a free oven`);
  if (failed) parts.push(`${failed} could not be baked`);
  if (stopped) parts.push(`${stopped} stopped`);
  return `Pizzas: ${parts.join(", ")}.`;
}
