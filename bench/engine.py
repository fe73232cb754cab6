"""Engine speed on the handler's path: the stored JSON string in, event(s) applied,
the JSON string to store out. Ours against ``transitions``' HierarchicalMachine and
``python-statemachine``'s StateChart with the same order chart ported by hand, and
against XState itself in Node (``bench/xstate_node.js``).

Scenarios (what a Lambda does per event):
  S0  an event the current state ignores (PIZZA_READY while ordering)
  S1  ADD_PIZZA while ordering (guard + context update + log action)
  S2  PIZZA_READY while waiting for the kitchen (leave one compound state, enter
      another whose initial child starts an invoke)
  S3  S2, then the invoke's completion (``xstate.done.actor.<id>``) applied to the
      result in the same request, as the runtime does when a send completes at once

Every engine starts from ``json.loads`` of the stored string, builds its machine once
(as a warm Lambda would) and ends with the JSON string to store, through the same
compact encoder. Times are CPU time per operation (median of batches), so other load
on the machine does not count; the Python engines are interleaved batch by batch, and
Node runs its own batches right after, in the same run.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.orders.workflow import MAX_ITEMS, ORDER_CHART, Timing, order_machine

PIZZA = {"name": "Hawaii", "size": "large", "toppings": ["pineapple", "mango"]}
SCENARIOS = ("S0", "S1", "S2", "S3")
READY = {"type": "PIZZA_READY", "data": {"oven": 1}}
ADD = {"type": "ADD_PIZZA", "pizza": PIZZA}
SENT = {"type": "xstate.done.actor.sendOrderToDelivery", "output": None}
# (stored state, events) of each scenario
PLAN = {
    "S0": ("ordering", [READY]),
    "S1": ("ordering", [ADD]),
    "S2": ("waiting", [READY]),
    "S3": ("waiting", [READY, SENT]),
}
# one compact encoder for every engine, as the store writes snapshots
dumps = json.JSONEncoder(separators=(",", ":")).encode
NODE_SCRIPT = Path(__file__).with_name("xstate_node.js")


def _our_states() -> dict[str, dict[str, Any]]:
    machine = order_machine()
    ordering = machine.initial_transition(context={"orderId": "o-1", "customerId": "c-1"})
    ordering = machine.transition(ordering.snapshot, {"type": "ADD_PIZZA", "pizza": PIZZA})
    baking = machine.transition(ordering.snapshot, {"type": "CONFIRM_PIZZA"})
    waiting = machine.transition(baking.snapshot, {"type": "xstate.done.actor.sendOrderToKitchen"})
    return {"ordering": ordering.snapshot.to_dict(), "waiting": waiting.snapshot.to_dict()}


def ours() -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    machine = order_machine()
    stored = {name: dumps(data) for name, data in _our_states().items()}

    def run(state: str, events: list[dict[str, Any]]) -> Callable[[], str]:
        text = stored[state]

        def handle() -> str:
            snapshot = machine.restore(json.loads(text))
            for event in events:
                snapshot = machine.transition(snapshot, event).snapshot
            return dumps(snapshot.to_dict())

        return handle

    def check() -> None:
        s2 = machine.transition(machine.restore(json.loads(stored["waiting"])), READY)
        assert s2.snapshot.value == {"deliverPizza": "sendingOrderToDelivery"}
        assert [e.kind for e in s2.effects] == ["cancel_schedule", "action", "invoke"]
        assert s2.snapshot.context["deliveryAttempts"] == 1
        s3 = machine.transition(s2.snapshot, SENT)
        assert s3.snapshot.value == {"deliverPizza": "waitingForDelivery"}
        assert [e.kind for e in s3.effects] == ["cancel_invoke", "schedule"]
        assert s3.snapshot.context["status"] == ORDER_MESSAGES["waitingForDelivery"]
        assert json.loads(run(*PLAN["S3"])())["value"] == s3.snapshot.value
        assert not machine.transition(json.loads(stored["ordering"]), READY).handled

    return {name: run(*PLAN[name]) for name in SCENARIOS}, check


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

    def leave_sending_delivery(self) -> None:
        self.effects.append(("cancel_invoke", "orderDeliveryFromDelivery"))

    def enter_waiting_delivery(self) -> None:
        self.set_status("waitingForDelivery")
        self.effects.append(("schedule", "deliveryTimeout"))


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


def _peer_states() -> dict[str, str]:
    """Our stored states as the peers store them: JSON of (leaf path, context)."""
    result = {}
    for name, data in _our_states().items():
        value = data["value"]
        path = [value] if isinstance(value, str) else [*value, *value.values()]
        result[name] = dumps({"path": path, "context": data["context"]})
    return result


def _snapshot(model: _Order, state: Any) -> str:
    return dumps(
        {
            "state": state,
            "context": {k: getattr(model, k) for k in CONTEXT_KEYS},
            "effects": model.effects,
        }
    )


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

        def on_exit_sending_delivery(self, event: Any) -> None:
            self.leave_sending_delivery()

        def on_enter_waiting_delivery(self, event: Any) -> None:
            self.enter_waiting_delivery()

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
                {
                    "name": "sendingOrderToDelivery",
                    "on_enter": ["on_enter_sending_delivery"],
                    "on_exit": ["on_exit_sending_delivery"],
                },
                {"name": "waitingForDelivery", "on_enter": ["on_enter_waiting_delivery"]},
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
            {"trigger": "DELIVERY_SENT", "source": "deliverPizza_sendingOrderToDelivery",
             "dest": "deliverPizza_waitingForDelivery"},
        ],
    )  # fmt: skip
    separator = machine.state_cls.separator
    stored = _peer_states()

    def step(text: str, *events: tuple[str, dict[str, Any]]) -> str:
        order = json.loads(text)
        model = Model(order["context"])
        machine.add_model(model, initial=separator.join(order["path"]))
        for event, payload in events:
            model.trigger(event, **payload)
        result = _snapshot(model, model.state)
        machine.remove_model(model)
        return result

    ready = ("PIZZA_READY", {"data": {"oven": 1}})
    sent = ("DELIVERY_SENT", {})

    def check() -> None:
        s2 = json.loads(step(stored["waiting"], ready))
        assert s2["state"] == f"deliverPizza{separator}sendingOrderToDelivery", s2["state"]
        # transitions runs "before" callbacks ahead of exits: same work, another order
        assert sorted(map(tuple, s2["effects"])) == [
            ("cancel_schedule", "kitchenTimeout"), ("invoke", "orderDeliveryFromDelivery"),
            ("log", "baked"),
        ], s2["effects"]  # fmt: skip
        assert s2["context"]["deliveryAttempts"] == 1
        s3 = json.loads(step(stored["waiting"], ready, sent))
        assert s3["state"] == f"deliverPizza{separator}waitingForDelivery", s3["state"]
        assert s3["effects"][-2:] == [
            ["cancel_invoke", "orderDeliveryFromDelivery"], ["schedule", "deliveryTimeout"],
        ]  # fmt: skip
        assert s3["context"]["status"] == ORDER_MESSAGES["waitingForDelivery"]
        added = json.loads(step(stored["ordering"], ("ADD_PIZZA", {"pizza": PIZZA})))
        assert len(added["context"]["items"]) == 2
        assert json.loads(step(stored["ordering"], ready))["state"] == "orderPizza"

    return {
        "S0": lambda: step(stored["ordering"], ready),
        "S1": lambda: step(stored["ordering"], ("ADD_PIZZA", {"pizza": PIZZA})),
        "S2": lambda: step(stored["waiting"], ready),
        "S3": lambda: step(stored["waiting"], ready, sent),
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
        DELIVERY_SENT = deliverPizza.sendingOrderToDelivery.to(deliverPizza.waitingForDelivery)
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

        def on_exit_sendingOrderToDelivery(self) -> None:
            self.order.leave_sending_delivery()

        def on_enter_waitingForDelivery(self) -> None:
            self.order.enter_waiting_delivery()

    stored = _peer_states()

    def step(text: str, *events: tuple[str, dict[str, Any]]) -> str:
        order = json.loads(text)
        model = _Order(order["context"])
        chart = OrderChart(model, set(order["path"]))
        for event, payload in events:
            chart.send(event, **payload)
        return _snapshot(model, sorted(chart.configuration_values))

    ready = ("PIZZA_READY", {"data": {"oven": 1}})
    sent = ("DELIVERY_SENT", {})

    def check() -> None:
        s2 = json.loads(step(stored["waiting"], ready))
        assert s2["state"] == ["deliverPizza", "sendingOrderToDelivery"], s2["state"]
        assert s2["effects"] == [
            ["cancel_schedule", "kitchenTimeout"], ["log", "baked"],
            ["invoke", "orderDeliveryFromDelivery"],
        ], s2["effects"]  # fmt: skip
        assert s2["context"]["deliveryAttempts"] == 1
        s3 = json.loads(step(stored["waiting"], ready, sent))
        assert s3["state"] == ["deliverPizza", "waitingForDelivery"], s3["state"]
        assert s3["effects"][3:] == [
            ["cancel_invoke", "orderDeliveryFromDelivery"], ["schedule", "deliveryTimeout"],
        ], s3["effects"]  # fmt: skip
        assert s3["context"]["status"] == ORDER_MESSAGES["waitingForDelivery"]
        added = json.loads(step(stored["ordering"], ("ADD_PIZZA", {"pizza": PIZZA})))
        assert len(added["context"]["items"]) == 2
        assert json.loads(step(stored["ordering"], ready))["state"] == ["orderPizza"]

    return {
        "S0": lambda: step(stored["ordering"], ready),
        "S1": lambda: step(stored["ordering"], ("ADD_PIZZA", {"pizza": PIZZA})),
        "S2": lambda: step(stored["waiting"], ready),
        "S3": lambda: step(stored["waiting"], ready, sent),
    }, check


def _batch_us(fn: Callable[[], Any], n: int) -> float:
    # CPU time, not wall time: other load on a shared machine then does not count
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


NODE = "XState (Node)"
PYTHON_PEERS = ("transitions", "python-statemachine")


def xstate_in_node(batches: int, per_batch: int) -> dict[str, float]:
    """Median µs per scenario of XState itself in Node, checked to end where ours ends."""
    from chalicelib.orders.workflow import MAX_ATTEMPTS

    timing = Timing()
    request = {
        "config": ORDER_CHART,
        "timing": vars(timing),
        "limits": {"maxItems": MAX_ITEMS, "maxAttempts": MAX_ATTEMPTS},
        "orderContext": {"orderId": "o-1", "customerId": "c-1"},
        "pizza": PIZZA,
        "scenarios": PLAN,
        "batches": batches,
        "perBatch": per_batch,
    }
    done = subprocess.run(
        ["node", str(NODE_SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    answer = json.loads(done.stdout)
    runs, _ = ours()
    for name, final in answer["finals"].items():
        mine = json.loads(runs[name]())
        assert final == {"value": mine["value"], "context": mine["context"]}, (name, final)
    return answer["results"]


def measure(batches: int = 40, per_batch: int = 400) -> dict[str, dict[str, float]]:
    """Median CPU µs per handler path (JSON in, event(s), JSON out), per scenario and engine."""
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
        for scenario in SCENARIOS:
            for name, (runs, _) in engines.items():
                samples[name][scenario].append(_batch_us(runs[scenario], per_batch))
    result = {
        name: {s: statistics.median(v) for s, v in per.items()} for name, per in samples.items()
    }
    result[NODE] = xstate_in_node(batches, per_batch)
    return result


def main() -> None:
    """Print the engine table alone: python -m bench.engine [--quick]."""
    speed = measure(batches=10 if "--quick" in sys.argv else 40)
    print("µs     " + "".join(f"{name:>22}" for name in speed) + "   vs peers  vs Node")
    for s in SCENARIOS:
        fastest = min(speed[p][s] for p in PYTHON_PEERS)
        row = "".join(f"{speed[name][s]:>22.1f}" for name in speed)
        mine = speed["ours"][s]
        print(f"{s}     {row}   {fastest / mine:7.2f}x  {speed[NODE][s] / mine:6.2f}x")


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


if __name__ == "__main__":
    main()
