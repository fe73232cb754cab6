"""A deploy in the middle of the schedule, and the service version 2 needs.

``Deployer`` waits until a random share of the orders has been placed, counts the states
the orders in flight are in, and deploys order chart version 2 (version 1 still declared;
with or without the v1 -> v2 migration). ``QualityCheck`` plays the quality-check
service version 2 waits on: it approves orders it sees in ``qualityCheck`` by publishing
QUALITY_APPROVED to the bus (now and then twice, now and then again with a new id when
the first seems lost, now and then to an order that is not waiting for it), and never
approves the orders whose plan says the check is forgotten (their timeout fires).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

from tests.chaos.checker import _state
from tests.chaos.faults import FaultInjector
from tests.chaos.history import Deploy, History
from tests.chaos.parents import mixed_workflow
from tests.chaos.stack import Stack

APPROVE_AGAIN_SECONDS = 0.6  # an approval not applied by then is sent again (new id)
WAITING = ("orderPizza", "bakePizza")  # not in the quality check yet


class Deployer:
    """Deploys version 2 once ``share`` of the orders have been placed."""

    def __init__(
        self,
        stack: Stack,
        history: History,
        orders: int,
        migrate: bool,
        rng: random.Random,
        stop: threading.Event,
        mixed: bool = False,
    ) -> None:
        self.stack, self.history, self.migrate, self.stop = stack, history, migrate, stop
        self.mixed = mixed  # version 3 orders run too: versions 1, 2 and 3 declared
        self.after = max(1, round(orders * rng.uniform(0.3, 0.6)))

    def run(self) -> None:
        while not self.stop.is_set() and len(self.history.fates) < self.after:
            time.sleep(0.05)
        if not self.stop.is_set():
            self.deploy()

    def in_flight(self) -> dict[str, int]:
        """The states of the orders not ended, read from the table (the code deploys
        while the requests go on: states a moment before)."""
        states: Counter[str] = Counter()
        kwargs: dict[str, Any] = {"TableName": "tropical-pizzas", "ConsistentRead": True}
        while True:
            page = self.stack.ddb.scan(**kwargs)
            for item in page.get("Items", []):
                if item["sk"]["S"] == "instance" and item["pk"]["S"].startswith("order#"):
                    state = item.get("state", {}).get("S", "?")
                    if state not in ("done", "cancelled"):
                        states[state] += 1
            if "LastEvaluatedKey" not in page:
                return dict(states.most_common())
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def deploy(self) -> None:
        from chalicelib.orders.versions import order_workflow_v2
        from chalicelib.orders.workflow import Timing

        if self.mixed:
            workflow = mixed_workflow(self.migrate)
        else:
            workflow = order_workflow_v2(Timing.from_environment(), migrate=self.migrate)
        states = self.in_flight()
        placed = len(self.history.fates)
        at = time.time()
        self.stack.deploy(workflow)
        self.history.add("deploys", Deploy(at, time.time(), self.migrate, placed, states))


class QualityCheck:
    """The quality-check service: approves orders waiting in ``qualityCheck``."""

    def __init__(self, stack: Stack, injector: FaultInjector, history: History) -> None:
        self.stack, self.injector, self.history = stack, injector, history
        self.settled: set[str] = set()
        self.sent: dict[str, tuple[int, float]] = {}  # order -> (approvals sent, last at)
        self._lock = threading.Lock()

    def candidates(self) -> list[str]:
        """Orders whose pizza the kitchen reported ready and that may still need a check."""
        ready = {p.subject for p in self.injector.published if p.type == "PIZZA_READY"}
        with self._lock:
            return sorted(o for o in ready if o and o not in self.settled)

    def step(self, rng: random.Random, chaos: bool = True) -> int:
        """Look at some candidates (all of them without chaos); approvals sent."""
        if not self.history.deploys:
            return 0
        todo = self.candidates()
        if chaos:
            rng.shuffle(todo)
            todo = todo[:4]
        return sum(self.look(order, rng, chaos) for order in todo)

    def look(self, order: str, rng: random.Random, chaos: bool) -> int:
        view = self.stack.http("GET", f"/orders/{order}", self.stack.staff_token)
        if view.status != 200:
            return 0
        state = _state(view.body["state"])
        if self.history.fates.get(order, {}).get("skip_quality"):
            with self._lock:
                self.settled.add(order)  # forgotten: its timeout decides
            return 0
        if state != "qualityCheck":
            if not state.startswith(WAITING):
                with self._lock:
                    self.settled.add(order)
                if chaos and state not in ("done", "cancelled") and rng.random() < 0.1:
                    self.approve(order, rng, chaos, stray=True)  # not waiting for it
                    return 1
            return 0
        sent, last = self.sent.get(order, (0, 0.0))
        if chaos and sent and time.time() - last < APPROVE_AGAIN_SECONDS:
            return 0  # the last approval may still be on its way
        self.approve(order, rng, chaos)
        return 1

    def approve(self, order: str, rng: random.Random, chaos: bool, stray: bool = False) -> None:
        from chalicelib.runtime import Unavailable, bus, clock

        sent, _ = self.sent.get(order, (0, 0.0))
        self.sent[order] = (sent + 1, time.time())
        event = bus.cloud_event(
            f"quality.{order}.{sent}",
            "QUALITY_APPROVED",
            order,
            {"station": "quality", "by": f"qc-{rng.randrange(3)}"},
            clock.now(),
        )
        copies = 2 if chaos and rng.random() < 0.1 else 1  # the service sends it twice
        name = f"quality:{order}:{sent}"
        for _ in range(copies):
            with self.injector.scope(name, random.Random(rng.getrandbits(64)), allow=chaos):
                try:
                    bus.publish(event)
                except Unavailable:
                    self.history.count("quality approvals failed to publish")
                    return
        self.history.count("quality approvals sent" + (" (stray)" if stray else ""))
        if sent:
            self.history.count("quality approvals sent again (new id)")
