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
        assert [e.kind for e in s2.effects] == ["cancel_schedule", "action", "invoke"]
        assert s2.snapshot.context["deliveryAttempts"] == 1
        assert not machine.transition(stored["ordering"], ready).handled

    return {
        "S0": run("ordering", ready),
        "S1": run("ordering", add),
        "S2": run("waiting", ready),
    }, check


class _Order:
    """The order's context and effects, as the peers' callbacks update them (the same
    updates as ORDER_ACTIONS, plus the effects our engine reports on these paths)."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.__dict__.update(context)
        self.effects: list[tuple[str, Any]] = []

    def has_room(self) -> bool:
        return len(self.items) < MAX_ITEMS

    def add_pizza(self, pizza: dict[str, Any]) -> None:
        self.items = [*self.items, {"itemId": f"item-{self.nextItemNo}", **pizza}]
        self.nextItemNo += 1
        self.effects.append(("log", "added"))

    def kitchen_report(self, data: Any) -> None:
        self.kitchen = data
        self.effects.append(("log", "baked"))

    def set_status(self, leaf: str) -> None:
        self.status = ORDER_MESSAGES[leaf]

    def enter_delivery(self) -> None:
        self.deliveryAttempts = 0

    def enter_sending_delivery(self) -> None:
        self.set_status("sendingOrderToDelivery")
        self.deliveryAttempts += 1
        self.effects.append(("invoke", "orderDeliveryFromDelivery"))

    def leave_waiting(self) -> None:
        self.effects.append(("cancel_schedule", "kitchenTimeout"))


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


def _peer_states() -> dict[str, dict[str, Any]]:
    """Our stored dicts as (leaf path, context) for the peers."""
    result = {}
    for name, data in _our_states().items():
        value = data["value"]
        path = [value] if isinstance(value, str) else [*value, *value.values()]
        result[name] = {"path": path, "context": dict(data["context"])}
    return result


def _snapshot(model: _Order, state: Any) -> dict[str, Any]:
    return {
        "state": state,
        "context": {k: getattr(model, k) for k in CONTEXT_KEYS},
        "effects": model.effects,
    }


def peer() -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """``transitions``' HierarchicalMachine with the order chart."""
    from transitions.extensions import HierarchicalMachine

    class Model(_Order):
        def on_add(self, event: Any) -> None:
            self.add_pizza(event.kwargs["pizza"])

        def can_add(self, event: Any) -> bool:
            return self.has_room()

        def on_ready(self, event: Any) -> None:
            self.kitchen_report(event.kwargs.get("data"))

        def enter(self, event: Any) -> None:
            self.set_status(self.state.rsplit(event.machine.state_cls.separator, 1)[-1])

        def on_enter_delivery(self, event: Any) -> None:
            self.enter_delivery()

        def on_enter_sending_delivery(self, event: Any) -> None:
            self.enter_sending_delivery()

        def on_exit_waiting(self, event: Any) -> None:
            self.leave_waiting()

    def leaf(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "on_enter": ["enter"], **extra}

    states = [
        leaf("orderPizza"),
        {
            "name": "bakePizza",
            "initial": "sendingOrderToKitchen",
            "children": [
                leaf("sendingOrderToKitchen"),
                leaf("waitingForPizzaToBeBaked", on_exit=["on_exit_waiting"]),
                leaf("runningLate"),
                leaf("errorInKitchen"),
            ],
        },
        {
            "name": "deliverPizza",
            "initial": "sendingOrderToDelivery",
            "on_enter": ["on_enter_delivery"],
            "children": [
                {"name": "sendingOrderToDelivery", "on_enter": ["on_enter_sending_delivery"]},
                leaf("waitingForDelivery"),
                leaf("deliveryRunningLate"),
                leaf("errorInDelivery"),
            ],
        },
        leaf("compensating"),
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
            {"trigger": "ADD_PIZZA", "source": "orderPizza", "dest": None,
             "conditions": "can_add", "after": "on_add"},
            {"trigger": "PIZZA_READY", "source": "bakePizza", "dest": "deliverPizza",
             "before": "on_ready"},
            {"trigger": "PIZZA_DELIVERED", "source": "deliverPizza", "dest": "done"},
        ],
    )  # fmt: skip
    separator = machine.state_cls.separator
    stored = _peer_states()

    def step(order: dict[str, Any], event: str, **payload: Any) -> dict[str, Any]:
        model = Model(order["context"])
        machine.add_model(model, initial=separator.join(order["path"]))
        model.trigger(event, **payload)
        result = _snapshot(model, model.state)
        machine.remove_model(model)
        return result

    def check() -> None:
        s2 = step(stored["waiting"], "PIZZA_READY", data={"oven": 1})
        assert s2["state"] == f"deliverPizza{separator}sendingOrderToDelivery", s2["state"]
        # transitions runs "before" callbacks ahead of exits: same work, another order
        assert sorted(s2["effects"]) == [
            ("cancel_schedule", "kitchenTimeout"), ("invoke", "orderDeliveryFromDelivery"),
            ("log", "baked"),
        ], s2["effects"]  # fmt: skip
        assert s2["context"]["deliveryAttempts"] == 1
        assert len(step(stored["ordering"], "ADD_PIZZA", pizza=PIZZA)["context"]["items"]) == 2
        assert step(stored["ordering"], "PIZZA_READY")["state"] == "orderPizza"

    return {
        "S0": lambda: step(stored["ordering"], "PIZZA_READY", data={"oven": 1}),
        "S1": lambda: step(stored["ordering"], "ADD_PIZZA", pizza=PIZZA),
        "S2": lambda: step(stored["waiting"], "PIZZA_READY", data={"oven": 1}),
    }, check


def peer_statemachine() -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """``python-statemachine``'s StateChart with the order chart."""
    from statemachine import State, StateChart

    class OrderChart(StateChart):
        orderPizza = State(initial=True)

        class bakePizza(State.Compound):
            sendingOrderToKitchen = State(initial=True)
            waitingForPizzaToBeBaked = State()
            runningLate = State()
            errorInKitchen = State()
            sent = sendingOrderToKitchen.to(waitingForPizzaToBeBaked)
            late = waitingForPizzaToBeBaked.to(runningLate)
            failed = sendingOrderToKitchen.to(errorInKitchen)
            retry = errorInKitchen.to(sendingOrderToKitchen)

        class deliverPizza(State.Compound):
            sendingOrderToDelivery = State(initial=True)
            waitingForDelivery = State()
            deliveryRunningLate = State()
            errorInDelivery = State()
            out = sendingOrderToDelivery.to(waitingForDelivery)
            late_delivery = waitingForDelivery.to(deliveryRunningLate)
            failed_delivery = sendingOrderToDelivery.to(errorInDelivery)
            retry_delivery = errorInDelivery.to(sendingOrderToDelivery)

        compensating = State()
        done = State(final=True)
        cancelled = State(final=True)
        confirm = orderPizza.to(bakePizza)
        ADD_PIZZA = orderPizza.to.itself(internal=True, cond="has_room", on="on_add")
        PIZZA_READY = bakePizza.to(deliverPizza, on="on_ready")
        PIZZA_DELIVERED = deliverPizza.to(done)
        CANCEL_ORDER = orderPizza.to(cancelled) | bakePizza.to(compensating)
        cancelled_done = compensating.to(cancelled)

        def __init__(self, order: _Order, configuration: set[str]) -> None:
            self.order = order
            self.state = configuration  # the model's state field: the stored configuration
            super().__init__(model=self, state_field="state")

        def has_room(self) -> bool:
            return self.order.has_room()

        def on_add(self, pizza: dict[str, Any]) -> None:
            self.order.add_pizza(pizza)

        def on_ready(self, data: Any = None) -> None:
            self.order.kitchen_report(data)

        def on_exit_waitingForPizzaToBeBaked(self) -> None:
            self.order.leave_waiting()

        def on_enter_deliverPizza(self) -> None:
            self.order.enter_delivery()

        def on_enter_sendingOrderToDelivery(self) -> None:
            self.order.enter_sending_delivery()

        def on_enter_waitingForDelivery(self) -> None:
            self.order.set_status("waitingForDelivery")

    stored = _peer_states()

    def step(order: dict[str, Any], event: str, **payload: Any) -> dict[str, Any]:
        model = _Order(order["context"])
        chart = OrderChart(model, set(order["path"]))
        chart.send(event, **payload)
        return _snapshot(model, sorted(chart.configuration_values))

    def check() -> None:
        s2 = step(stored["waiting"], "PIZZA_READY", data={"oven": 1})
        assert s2["state"] == ["deliverPizza", "sendingOrderToDelivery"], s2["state"]
        assert s2["effects"] == [
            ("cancel_schedule", "kitchenTimeout"), ("log", "baked"),
            ("invoke", "orderDeliveryFromDelivery"),
        ], s2["effects"]  # fmt: skip
        assert s2["context"]["deliveryAttempts"] == 1
        assert len(step(stored["ordering"], "ADD_PIZZA", pizza=PIZZA)["context"]["items"]) == 2
        assert step(stored["ordering"], "PIZZA_READY")["state"] == ["orderPizza"]

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
    engines = {
        "ours": ours(),
        "transitions": peer(),
        "python-statemachine": peer_statemachine(),
    }
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
