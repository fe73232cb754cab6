"""Version 3 of the order chart: the kitchen bakes pizzas, not orders.

From version 1, ``bakePizza`` no longer sends the whole order to the kitchen
(MAKE_PIZZA). Entering it spawns one ``pizza`` child workflow per item (actor id = the
item id, input ``{orderId, itemId, pizza}``) and grants oven slots to the first K of
them (OVEN_SLOT, sent with ``sendTo``): at most K pizzas of one order are in the oven at
once, as Step Functions Map's MaxConcurrency bounds its iterations. K is a setting
(ORDER_OVEN_SLOTS, default 2) read by the ``grantOvenSlots`` action, not chart data, so
changing it does not change the chart's version hash.

Each pizza's ``xstate.done.actor.<itemId>`` records its output in ``context.pizzas`` and
frees its slot for the next queued pizza. When every pizza is baked the order goes out
for delivery, and DELIVER_PIZZA carries each pizza's output. A pizza that could not be
baked (output ``baked: false``, or ``xstate.error.actor.<itemId>``) makes the order
compensate: leaving ``bakePizza`` stops every pizza still queued or in the oven
(``stopChild``), CANCEL_BAKES tells the oven to drop the order's bakes (a stopped pizza
runs nothing, so cannot cancel its own), and the order is cancelled with the reason.
CANCEL_ORDER while baking does the same. ``context.pizzas`` keeps each pizza's ``state``: queued,
inOven, baked, failed or stopped.

Version 1 stays declared with no migration: orders in flight on it finish on it. New
orders start on ORDER_START_VERSION (default 1 until the rollout flips it to 3).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.runtime import Command, Version, Workflow
from chalicelib.statechart import Machine, assign, enqueue_actions

from .workflow import (
    BUS_EVENTS,
    CLIENT_EVENTS,
    COMMANDS,
    LOCK,
    ORDER_ACTIONS,
    ORDER_CHART,
    ORDER_GUARDS,
    Timing,
    _compensate,
    _log,
    _state,
    _touch,
    order_machine,
    order_view,
)

VERSION = 3
PIZZA = "pizza"  # the registered workflow each item becomes
RUNNING = ("queued", "inOven")

Context = Mapping[str, Any]
Event = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FanOut:
    """How an order fans out: ``oven_slots`` pizzas of one order in the oven at once
    (ORDER_OVEN_SLOTS) and the chart version new orders start on (ORDER_START_VERSION)."""

    oven_slots: int = 2
    start_version: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.oven_slots, bool) or self.oven_slots < 1:
            raise ValueError(f"ORDER_OVEN_SLOTS: {self.oven_slots!r} is not a whole number >= 1")

    @classmethod
    def from_environment(cls) -> FanOut:
        """The settings from the environment; ValueError naming a variable that is not a
        whole number."""
        chosen: dict[str, int] = {}
        for field, name in (
            ("oven_slots", "ORDER_OVEN_SLOTS"),
            ("start_version", "ORDER_START_VERSION"),
        ):
            raw = os.environ.get(name, "").strip()
            if raw:
                if not raw.isdigit():
                    raise ValueError(f"{name}: {raw!r} is not a whole number")
                chosen[field] = int(raw)
        return cls(**chosen)


def _chart_v3() -> dict[str, Any]:
    chart = copy.deepcopy(ORDER_CHART)
    chart["description"] = "A Tropical Pizzas order whose pizzas are baked one by one"
    chart["context"]["pizzas"] = []
    del chart["context"]["kitchen"], chart["context"]["kitchenAttempts"]
    # a pizza that fails after the order stopped waiting for it (its failure was on its
    # way when the order left bakePizza): noted, not fatal (XState fails a parent that
    # leaves an actor's error unhandled); bakePizza's own handler comes first
    chart["on"] = {
        "xstate.error.actor.*": {"guard": "isPizza", "actions": [_log("pizza failed late")]}
    }
    chart["states"]["compensating"] = _state(
        "Cancelling your order...",
        invoke={
            "id": "cancelAtOven",
            "src": "cancelBakesAtOven",
            "onDone": "cancelled",
            "onError": "cancelled",
        },
    )
    chart["states"]["bakePizza"] = _state(
        "Baking your pizzas...",
        entry=("spawnPizzas", "grantOvenSlots"),
        exit=["stopPizzas"],
        on={
            "xstate.done.actor.*": {"actions": ["recordPizza", "grantOvenSlots"]},
            "xstate.error.actor.*": {"actions": ["recordPizzaError"]},
            "CANCEL_ORDER": _compensate("cancelled by you"),
        },
        always=[
            {"guard": "pizzaFailed", "target": "compensating", "actions": ["setReasonFromPizzas"]},
            {"guard": "allPizzasBaked", "target": "deliverPizza", "actions": [_log("baked")]},
        ],
    )
    return chart


ORDER_CHART_V3 = _chart_v3()


def _with_state(
    pizzas: list[dict[str, Any]], item_ids: Any, **changes: Any
) -> list[dict[str, Any]]:
    return [{**p, **changes} if p["itemId"] in item_ids else p for p in pizzas]


def _spawn_pizzas(ctx: Context, ev: Event, enqueue: Any) -> None:
    """One pizza child per item, all queued."""
    for item in ctx["items"]:
        pizza = {k: v for k, v in item.items() if k != "itemId"}
        given = {"orderId": ctx["orderId"], "itemId": item["itemId"], "pizza": pizza}
        enqueue.spawn_child(PIZZA, item["itemId"], given)
    pizzas = [{"itemId": i["itemId"], "state": "queued", "output": None} for i in ctx["items"]]
    enqueue.assign(lambda c, e: {"pizzas": pizzas})


def _granting(slots: int):
    def grant(ctx: Context, ev: Event, enqueue: Any) -> None:
        """Send OVEN_SLOT to queued pizzas, in item order, while fewer than ``slots`` are
        in the oven; none once a pizza failed (the order is about to stop them)."""
        pizzas = ctx["pizzas"]
        if any(p["state"] == "failed" for p in pizzas):
            return
        free = slots - sum(p["state"] == "inOven" for p in pizzas)
        chosen = [p["itemId"] for p in pizzas if p["state"] == "queued"][: max(0, free)]
        for item_id in chosen:
            enqueue.send_to(item_id, {"type": "OVEN_SLOT"})
        if chosen:
            enqueue.assign(
                lambda c, e: {"pizzas": _with_state(c["pizzas"], chosen, state="inOven")}
            )

    return grant


def _stop_pizzas(ctx: Context, ev: Event, enqueue: Any) -> None:
    """Stop every pizza still queued or in the oven (leaving ``bakePizza`` any way but
    with all of them baked)."""
    running = [p["itemId"] for p in ctx["pizzas"] if p["state"] in RUNNING]
    for item_id in running:
        enqueue.stop_child(item_id)
    if running:
        enqueue.assign(lambda c, e: {"pizzas": _with_state(c["pizzas"], running, state="stopped")})


def _record_pizza(ctx: Context, ev: Event) -> dict[str, Any]:
    item_id = ev["type"].removeprefix("xstate.done.actor.")
    output = ev.get("output") if isinstance(ev.get("output"), Mapping) else {}
    state = "baked" if output.get("baked") is True else "failed"
    pizzas = _with_state(ctx["pizzas"], (item_id,), state=state, output=output)
    return {"pizzas": pizzas, **_touch(ctx, ev)}


def _record_pizza_error(ctx: Context, ev: Event) -> dict[str, Any]:
    item_id = ev["type"].removeprefix("xstate.error.actor.")
    output = {"itemId": item_id, "baked": False, "reason": f"it failed: {ev.get('error')}"}
    pizzas = _with_state(ctx["pizzas"], (item_id,), state="failed", output=output)
    return {"pizzas": pizzas, **_touch(ctx, ev)}


def _reason_from_pizzas(ctx: Context, ev: Event) -> dict[str, Any]:
    failed = next(p for p in ctx["pizzas"] if p["state"] == "failed")
    names = {i["itemId"]: i.get("name") for i in ctx["items"]}
    name = names.get(failed["itemId"]) or failed["itemId"]
    why = (failed.get("output") or {}).get("reason") or "no reason given"
    return {"cancelReason": f"the pizza {name} could not be baked ({why})"}


def _actions_v3(fan_out: FanOut) -> dict[str, Any]:
    return {
        **ORDER_ACTIONS,
        "spawnPizzas": enqueue_actions(_spawn_pizzas),
        "grantOvenSlots": enqueue_actions(_granting(fan_out.oven_slots)),
        "stopPizzas": enqueue_actions(_stop_pizzas),
        "recordPizza": assign(_record_pizza),
        "recordPizzaError": assign(_record_pizza_error),
        "setReasonFromPizzas": assign(_reason_from_pizzas),
    }


GUARDS_V3: dict[str, Any] = {
    **ORDER_GUARDS,
    "isPizza": lambda ctx, ev: (
        ev["type"].removeprefix("xstate.error.actor.") in {p["itemId"] for p in ctx["pizzas"]}
    ),
    "pizzaFailed": lambda ctx, ev: any(p["state"] == "failed" for p in ctx["pizzas"]),
    "allPizzasBaked": lambda ctx, ev: (
        bool(ctx["pizzas"]) and all(p["state"] == "baked" for p in ctx["pizzas"])
    ),
}


def _cancel_bakes(ctx: Context, _input: Any) -> dict[str, Any]:
    return {"orderId": ctx["orderId"], "reason": ctx["cancelReason"]}


# persistent: the oven must hear of the cancel however long the bus is down
COMMANDS_V3 = {**COMMANDS, "cancelBakesAtOven": Command("CANCEL_BAKES", _cancel_bakes, True)}


def order_machine_v3(timing: Timing | None = None, fan_out: FanOut | None = None) -> Machine:
    """Version 3's machine; ``fan_out.oven_slots`` is K."""
    delays = (timing or Timing()).delays()
    actions = _actions_v3(fan_out or FanOut())
    return Machine(ORDER_CHART_V3, actions=actions, guards=GUARDS_V3, delays=delays)


def order_workflow_v3(timing: Timing | None = None, fan_out: FanOut | None = None) -> Workflow:
    """The order workflow with version 3 declared beside version 1 (pinned: no migration),
    new orders starting on ``fan_out.start_version``."""
    fan_out = fan_out or FanOut()
    return Workflow(
        "order", order_machine_v3(timing, fan_out), CLIENT_EVENTS, BUS_EVENTS, COMMANDS_V3,
        order_view, version=VERSION, previous=[Version(1, order_machine(timing))], lock=LOCK,
        children=(PIZZA,), start_on=fan_out.start_version,
    )  # fmt: skip
