"""Orders of order chart version 1 held in every state it has, including waiting timers
and commands pending in the outbox; a "deploy" that swaps the served workflow; a driver
that finishes every order; and a whole-history check that nothing was lost or duplicated.

The harness holds the timers itself (drained from the timers queue after every step), so
one order's timer fires without firing everyone's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.orders import service
from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import Workflow, bus, clock, intake, state_key, store, sweeper
from tests.shop import Shop
from tests.versions.scenarios import bus_down, confirmed

FINAL = {"done", "cancelled"}


@contextmanager
def deployed(workflow: Workflow) -> Iterator[None]:
    """Serve ``workflow`` as the order workflow (requests, bus, timers, sweeper)."""
    before = WORKFLOWS["order"], service.ORDERS
    WORKFLOWS["order"], service.ORDERS = workflow, workflow
    try:
        yield
    finally:
        WORKFLOWS["order"], service.ORDERS = before


class Harness:
    """The shop plus held timers and a log of every message published."""

    def __init__(self, shop: Shop, monkeypatch: Any) -> None:
        self.shop = shop
        self.timers: list[dict[str, Any]] = []
        self.published: list[dict[str, Any]] = []
        real = bus.publish

        def spy(event):
            message_id = real(event)  # raises when the bus is down: nothing recorded
            self.published.append(dict(event))
            return message_id

        monkeypatch.setattr(bus, "publish", spy)

    def state(self, order_id: str) -> str:
        return state_key(self.stored(order_id).snapshot["value"])

    def stored(self, order_id: str) -> store.Instance:
        instance = store.load(f"order#{order_id}")
        assert instance is not None
        return instance

    def hold_timers(self) -> None:
        """Take every timer off the queue into the harness."""
        sqs, url = self.shop.sqs, self.shop.made.queue_urls["TimersQueue"]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                self.timers.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def fire(self, order_id: str) -> int:
        """Fire the held timers of one order now; returns how many."""
        self.hold_timers()
        mine = [t for t in self.timers if t["instance"] == order_id]
        self.timers = [t for t in self.timers if t["instance"] != order_id]
        for timer in mine:
            intake.fire_timer(WORKFLOWS, json.dumps({**timer, "dueAt": "2000-01-01T00:00:00.000Z"}))
        self.hold_timers()
        return len(mine)

    def report(self, order_id: str, event_type: str, by: str = "sam") -> None:
        """A report from the bus (QUALITY_APPROVED: the staff's approval)."""
        data = {"station": "kitchen", "by": by}
        event = bus.cloud_event(
            f"test.{order_id}.{event_type}", event_type, order_id, data, clock.now()
        )
        intake.receive(WORKFLOWS, "order", json.dumps(event))

    def staff(self, station: str, order_id: str, done: str) -> None:
        answer = self.shop.call("POST", f"/{station}/orders/{order_id}/{done}", "staff")
        assert answer.status_code == 200, answer.json_body
        self.shop.settle()

    def after(self, step: Any) -> str:
        order_id = step()
        self.hold_timers()
        return order_id


def v1_in_every_state(h: Harness) -> dict[str, str]:
    """One version 1 order per active state of the chart: state -> order id. Waiting
    states hold their timers; the sending and compensating ones a pending command."""
    shop, orders = h.shop, {}

    def sweep_twice() -> None:
        for _ in range(2):
            sweeper.sweep(WORKFLOWS, grace_seconds=0)

    def ready(order_id: str) -> None:
        shop.deliver("KitchenQueue")
        assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200

    with bus_down():  # the kitchen unreachable: the send fails, a retry timer waits
        orders["bakePizza.errorInKitchen"] = h.after(lambda: confirmed(shop))
        sweep_twice()
    order_id = h.after(lambda: confirmed(shop))
    ready(order_id)
    with bus_down():
        shop.deliver("OrderEventsQueue")
        sweep_twice()
    orders["deliverPizza.errorInDelivery"] = order_id
    with bus_down():  # cancelled while its MAKE_PIZZA was pending: CANCEL_PIZZA pending
        order_id = h.after(lambda: confirmed(shop))
        shop.call("POST", f"/orders/{order_id}/cancel")
    orders["compensating"] = order_id
    order_id = h.after(lambda: confirmed(shop))
    ready(order_id)
    shop.deliver("OrderEventsQueue")
    shop.deliver("DeliveryQueue")
    h.fire(order_id)  # late
    with bus_down():
        h.fire(order_id)  # gives up: CANCEL_DELIVERY pending
    orders["cancellingDelivery"] = order_id
    orders["orderPizza"] = h.after(lambda: shop.new_order()["orderId"])
    with bus_down():
        orders["bakePizza.sendingOrderToKitchen"] = h.after(lambda: confirmed(shop))
    orders["bakePizza.waitingForPizzaToBeBaked"] = h.after(lambda: confirmed(shop))
    shop.deliver("KitchenQueue")
    order_id = h.after(lambda: confirmed(shop))
    shop.deliver("KitchenQueue")
    h.fire(order_id)
    orders["bakePizza.runningLate"] = order_id
    order_id = h.after(lambda: confirmed(shop))
    ready(order_id)
    with bus_down():
        shop.deliver("OrderEventsQueue")
    orders["deliverPizza.sendingOrderToDelivery"] = order_id
    for late in (False, True):
        order_id = h.after(lambda: confirmed(shop))
        ready(order_id)
        shop.deliver("OrderEventsQueue")
        shop.deliver("DeliveryQueue")
        if late:
            h.fire(order_id)
        orders[f"deliverPizza.{'deliveryRunningLate' if late else 'waitingForDelivery'}"] = order_id
    h.hold_timers()
    for expected, order_id in orders.items():
        assert h.state(order_id) == expected, (expected, h.state(order_id))
    return orders


def finish(h: Harness, orders: dict[str, str], rounds: int = 12) -> None:
    """Drive every order to its end as staff, bus and timers would: late ones give up,
    waiting ones are served, failed sends are retried."""
    for _ in range(rounds):
        sweeper.sweep(WORKFLOWS, grace_seconds=0)
        h.shop.settle()
        h.hold_timers()
        open_orders = [o for o in orders.values() if h.state(o) not in FINAL]
        if not open_orders:
            return
        for order_id in open_orders:
            now = h.state(order_id)
            if now == "orderPizza":
                h.shop.call("POST", f"/orders/{order_id}/confirm")
            elif now == "bakePizza.waitingForPizzaToBeBaked":
                h.staff("kitchen", order_id, "ready")
            elif now == "qualityCheck":
                h.report(order_id, "QUALITY_APPROVED")
            elif now == "deliverPizza.waitingForDelivery":
                h.staff("delivery", order_id, "delivered")
            else:  # late, failed sends: their timers; sending: the sweeper, next round
                h.fire(order_id)
    raise AssertionError({o: h.state(o) for o in orders.values() if h.state(o) not in FINAL})


def check_nothing_lost(h: Harness, order_ids: list[str]) -> None:
    """Every order ended; versions are contiguous and each event applied once; the outbox
    is empty; every committed command went out exactly once, or its invoke was cancelled
    before it was sent; nothing was sent that no commit holds; nothing counts in flight."""
    published: dict[str, int] = {}
    for event in h.published:
        published[event["id"]] = published.get(event["id"], 0) + 1
    committed: set[str] = set()
    for order_id in order_ids:
        assert h.state(order_id) in FINAL
        records = store.history(f"order#{order_id}")
        assert [r["version"] for r in records] == list(range(1, len(records) + 1))
        ids = [r["eventId"] for r in records]
        assert len(ids) == len(set(ids))
        instance = h.stored(order_id)
        assert instance.outbox == {}
        for record in records:
            for index, effect in enumerate(record["effects"]):
                if not effect.startswith("invoke:"):
                    continue
                message_id = f"order.{order_id}.v{record['version']}.{index}"
                committed.add(message_id)
                cancelled = any(
                    f"cancel_invoke:{effect.split(':')[1]}" in later["effects"]
                    and f"xstate.done.actor.{effect.split(':')[1]}" != later["eventType"]
                    for later in records
                    if later["version"] > record["version"]
                )
                times = published.get(message_id, 0)
                assert times == 1 or (times == 0 and cancelled), (message_id, times)
    ours = {m for m in published if m.startswith("order.") and m.split(".")[1] in order_ids}
    assert ours <= committed, ours - committed
    assert all(n == 0 for n in store.in_flight("order").values()), store.in_flight("order")
