"""Engine speed: restore a stored order + apply one event + serialise, ours against
``transitions``' HierarchicalMachine with the same order chart ported by hand.

Scenarios (what a Lambda does per event):
  S0  an event the current state ignores (PIZZA_READY while ordering)
  S1  ADD_PIZZA while ordering (guard + context update + log action)
  S2  PIZZA_READY while waiting for the kitchen (leave one compound state, enter
      another whose initial child starts an invoke)

Both sides start from a plain dict (as read from DynamoDB), build their
machine once (as a warm Lambda would) and end with a plain dict to store. Timings
interleave the two engines batch by batch, so machine noise hits both alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from chalicelib.orders.workflow import MAX_ITEMS, ORDER_CHART, order_machine

PIZZA = {"name": "Hawaii", "size": "large", "toppings": ["pineapple", "mango"]}


def _our_states() -> dict[str, dict[str, Any]]:
    machine = order_machine()
    ordering = machine.initial_transition(context={"orderId": "o-1", "customerId": "c-1"})
    ordering = machine.transition(ordering.snapshot, {"type": "ADD_PIZZA", "pizza": PIZZA})
    baking = machine.transition(ordering.snapshot, {"type": "CONFIRM_PIZZA"})
    waiting = machine.transition(baking.snapshot, {"type": "xstate.done.actor.sendOrderToKitchen"})
    return {"ordering": ordering.snapshot.to_dict(), "waiting": waiting.snapshot.to_dict()}


def ours() -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    machine = order_machine()
    stored = _our_states()
    add = {"type": "ADD_PIZZA", "pizza": PIZZA}
    ready = {"type": "PIZZA_READY", "data": {"oven": 1}}

    def run(state: str, event: dict[str, Any]) -> Callable[[], Any]:
        data = stored[state]
        return lambda: machine.transition(data, event).snapshot.to_dict()

    def check() -> None:
        s2 = machine.transition(stored["waiting"], ready)
        assert s2.snapshot.value == {"deliverPizza": "sendingOrderToDelivery"}
        assert [e.kind for e in s2.effects] == ["action", "invoke"]
        assert not machine.transition(stored["ordering"], ready).handled

    return {
        "S0": run("ordering", ready),
        "S1": run("ordering", add),
        "S2": run("waiting", ready),
    }, check


class _Order:
    """The model ``transitions`` drives: the order's context as attributes."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.__dict__.update(context)
        self.effects: list[tuple[str, Any]] = []

    # guards
    def has_pizzas(self, event: Any) -> bool:
        return len(self.items) > 0

    def has_room(self, event: Any) -> bool:
        return len(self.items) < MAX_ITEMS

    # actions (the same updates as ORDER_ACTIONS)
    def add_pizza(self, event: Any) -> None:
        pizza = event.kwargs["pizza"]
        self.items = [*self.items, {"itemId": f"item-{self.nextItemNo}", **pizza}]
        self.nextItemNo += 1
        self.effects.append(("log", "added"))

    def set_kitchen_report(self, event: Any) -> None:
        self.kitchen = event.kwargs.get("data")
        self.effects.append(("log", "baked"))

    def status_from(self, event: Any) -> None:
        separator = event.machine.state_cls.separator
        self.status = ORDER_MESSAGES[self.state.rsplit(separator, 1)[-1]]

    def start_kitchen_invoke(self, event: Any) -> None:
        self.effects.append(("invoke", "orderPizzaFromKitchen"))

    def start_delivery_invoke(self, event: Any) -> None:
        self.effects.append(("invoke", "orderDeliveryFromDelivery"))


def _messages(chart: dict[str, Any]) -> dict[str, str]:
    found = {}
    for key, node in chart["states"].items():
        if "meta" in node:
            found[key] = node["meta"]["message"]
        for sub, child in node.get("states", {}).items():
            found[sub] = child["meta"]["message"]
    return found


ORDER_MESSAGES = _messages(ORDER_CHART)
CONTEXT_KEYS = list(ORDER_CHART["context"])


def peer() -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    from transitions.extensions import HierarchicalMachine

    def leaf(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "on_enter": ["status_from", *extra.pop("on_enter", [])], **extra}

    states = [
        leaf("orderPizza"),
        {
            "name": "bakePizza",
            "initial": "sendingOrderToKitchen",
            "children": [
                leaf("sendingOrderToKitchen", on_enter=["start_kitchen_invoke"]),
                leaf("waitingForPizzaToBeBaked"),
                leaf("errorInKitchen"),
            ],
        },
        {
            "name": "deliverPizza",
            "initial": "sendingOrderToDelivery",
            "children": [
                leaf("sendingOrderToDelivery", on_enter=["start_delivery_invoke"]),
                leaf("waitingForDelivery"),
                leaf("errorInDelivery"),
            ],
        },
        leaf("done", final=True),
        leaf("cancelled", final=True),
    ]
    machine = HierarchicalMachine(
        model=None,
        states=states,
        initial="orderPizza",
        send_event=True,
        ignore_invalid_triggers=True,
        auto_transitions=False,
        transitions=[
            {
                "trigger": "ADD_PIZZA",
                "source": "orderPizza",
                "dest": None,
                "conditions": "has_room",
                "after": "add_pizza",
            },
            {
                "trigger": "CONFIRM_PIZZA",
                "source": "orderPizza",
                "dest": "bakePizza",
                "conditions": "has_pizzas",
            },
            {"trigger": "CANCEL_ORDER", "source": "orderPizza", "dest": "cancelled"},
            {
                "trigger": "PIZZA_READY",
                "source": "bakePizza",
                "dest": "deliverPizza",
                "after": "set_kitchen_report",
            },
            {"trigger": "PIZZA_DELIVERED", "source": "deliverPizza", "dest": "done"},
        ],
    )
    separator = machine.state_cls.separator
    ours_stored = _our_states()

    def to_peer(data: dict[str, Any]) -> dict[str, Any]:
        value = data["value"]
        name = value if isinstance(value, str) else separator.join(next(iter(value.items())))
        return {"state": name, "context": dict(data["context"])}

    stored = {k: to_peer(v) for k, v in ours_stored.items()}

    def step(stored_order: dict[str, Any], event: str, **payload: Any) -> dict[str, Any]:
        model = _Order(stored_order["context"])
        machine.add_model(model, initial=stored_order["state"])
        model.trigger(event, **payload)
        result = {
            "state": model.state,
            "context": {k: getattr(model, k) for k in CONTEXT_KEYS},
            "effects": model.effects,
        }
        machine.remove_model(model)
        return result

    def check() -> None:
        s2 = step(stored["waiting"], "PIZZA_READY", data={"oven": 1})
        assert s2["state"] == f"deliverPizza{separator}sendingOrderToDelivery", s2["state"]
        assert ("invoke", "orderDeliveryFromDelivery") in s2["effects"]
        s1 = step(stored["ordering"], "ADD_PIZZA", pizza=PIZZA)
        assert len(s1["context"]["items"]) == 2
        assert step(stored["ordering"], "PIZZA_READY")["state"] == "orderPizza"

    return {
        "S0": lambda: step(stored["ordering"], "PIZZA_READY", data={"oven": 1}),
        "S1": lambda: step(stored["ordering"], "ADD_PIZZA", pizza=PIZZA),
        "S2": lambda: step(stored["waiting"], "PIZZA_READY", data={"oven": 1}),
    }, check


def _batch_us(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def measure(batches: int = 40, per_batch: int = 400) -> dict[str, dict[str, float]]:
    """Median µs per restore+event+serialise for each scenario and engine."""
    engines = {"ours": ours(), "transitions": peer()}
    for runs, check in engines.values():
        check()
        for fn in runs.values():
            _batch_us(fn, per_batch)  # warm up
    samples: dict[str, dict[str, list[float]]] = {
        name: {s: [] for s in runs} for name, (runs, _) in engines.items()
    }
    for _ in range(batches):
        for scenario in ("S0", "S1", "S2"):
            for name, (runs, _) in engines.items():
                samples[name][scenario].append(_batch_us(runs[scenario], per_batch))
    return {
        name: {s: statistics.median(v) for s, v in per.items()} for name, per in samples.items()
    }


def import_ms(runs: int = 25, cwd: str | None = None, env: dict | None = None) -> dict[str, float]:
    """Median wall ms of a fresh interpreter: bare, and importing the engine."""
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "engine": [sys.executable, "-c", "import chalicelib.statechart"],
    }
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=cwd, env=env)
            samples[name].append((time.perf_counter() - start) * 1000)
    return {k: statistics.median(v) for k, v in samples.items()}
