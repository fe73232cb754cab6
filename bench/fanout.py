"""The fan-out, measured: an order of 1, 10 and 50 pizzas on order chart version 3 (one
``pizza`` child workflow per pizza, ORDER_OVEN_SLOTS of them in the oven at once) from
its confirmation to every pizza baked, beside the version 1 order of the same pizzas
(the kitchen bakes the whole order as one piece of work). Written as BENCHMARKS.md's
"Fan-out" section.

Usage: ``python -m bench.fanout`` (``make bench-fanout``); ``--sizes 1,10,50`` and
``--rounds N`` (timed rounds of each pair, default 3).

- **Calls and units** (``measure``): the real handlers on the embedded AWS (moto in
  process, ``bench.workload``) with every AWS call metered by ``bench.keys``, from the
  POST that confirms to the commit that takes the order to ``deliverPizza`` (its
  DELIVER_PIZZA publish included), then every timer the order and its pizzas left
  running fired when due (each costs the read that finds it stale; a 20-minute oven
  timeout one more hop, counted as the scale model counts it). The stations are
  automatic, as in ``make run``: whatever work the kitchen or the oven holds is finished
  at once, each piece by one staff request (``POST /stations/{name}/work/{id}/finished``,
  what a cook's click costs on AWS); listing the held work and reading the order's state
  are the driver's, not counted. Placing the order is not counted either.
- **Time** (``timed``): the same two orders, unmetered, against the local stack's
  serialised moto server (``bench.system.local_aws``), v1 and v3 alternating, each
  queue delivered to its handler in process as the stack's pollers do, but without
  their polling waits: what the fan-out adds in work, not in waiting. On AWS a pizza's
  messages run in invocations of their own, in parallel; here one after another.
- **Cost** per million orders (``bench.fanout_report``): the metered usage priced by
  ``bench.cost``'s prices and rules (as BENCHMARKS.md's "Cost per order against Step
  Functions"), and Step Functions Standard doing the same with a Map state over the
  pizzas (``cost.step_functions``: one state transition per committed transition of the order
  and of every pizza, the Map's iterations inside the order's one execution, plus its
  start and end; the API, functions and queues unchanged, no DynamoDB).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from bench.keys import KeyMeter
from bench.workload import PIZZA, REGION, Shop, Usage, embedded_aws

SIZES = (1, 10, 50)
VERSIONS = (1, 3)
SECTION = "## Fan-out: an order's pizzas as child workflows"
HELD_BY = ("kitchen", "oven")  # the stations that bake: v1's kitchen, v3's oven
BAKED = "deliverPizza"  # the order's state once every pizza is baked


class Bakery(Shop):
    """The shop with automatic stations, placing orders on a chosen chart version."""

    def baked(self, version: int, pizzas: int) -> Usage:
        """One order of ``pizzas`` on chart ``version``, confirmed and baked; returns
        what it used from the confirmation on (``Usage.kind``: ``v<version>x<pizzas>``)."""
        self.usage = Usage("placing")  # not counted
        order_id = self._placed(version, pizzas)
        self.usage = Usage(f"v{version}x{pizzas}")
        start = len(self.meter.calls)
        self.http("POST", f"/orders/{order_id}/confirm")
        self.drive(order_id)
        self._fire_left_timers(order_id)
        self.usage.calls = self.meter.calls[start:]
        self.drop("DeliveryQueue")
        return self.usage

    def drop(self, queue: str) -> None:
        """Every visible message on ``queue`` deleted unread (what is left of an order
        the bench is done with: its DELIVER_PIZZA)."""
        url = self.made.queue_urls[queue]
        while got := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in got:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def drive(self, order_id: str) -> None:
        """Deliver every queue (not the timers, not delivery) and finish the work the
        stations hold until the order is in ``deliverPizza``."""
        queues = [q for q in self.handlers if q not in ("TimersQueue", "DeliveryQueue")]
        while self._state(order_id) != BAKED:
            finished = self._finish_held()
            moved = sum(self.deliver(q) for q in queues)
            if not finished and not moved:
                raise AssertionError(f"order {order_id} stuck in {self._state(order_id)}")

    def _placed(self, version: int, pizzas: int) -> str:
        from chalicelib.orders.service import ORDERS

        started_on = ORDERS.starting
        ORDERS.starting = ORDERS.versions.by_number[version]
        try:
            order_id = self.http("POST", "/orders", {"pizza": PIZZA})["orderId"]
        finally:
            ORDERS.starting = started_on
        for _ in range(pizzas - 1):
            self.http("POST", f"/orders/{order_id}/pizzas", {"pizza": PIZZA})
        return order_id

    def _unmetered(self, read: Any) -> Any:
        """What the driver reads to steer (not the app's calls): left out of the meter."""
        count = len(self.meter.calls)
        try:
            return read()
        finally:
            del self.meter.calls[count:]

    def _state(self, order_id: str) -> str:
        from chalicelib import runtime
        from chalicelib.orders.service import ORDERS

        value = self._unmetered(lambda: runtime.read(ORDERS, order_id, None).snapshot.value)
        return value if isinstance(value, str) else next(iter(value))

    def _finish_held(self) -> int:
        """Every piece of work the baking stations hold, finished by staff (the local
        stack's automatic stations, with no bake time)."""
        from chalicelib.stations import STATIONS

        held = self._unmetered(
            lambda: [(n, w[STATIONS[n].key_field]) for n in HELD_BY for w in STATIONS[n].orders()]
        )
        for name, key in held:
            self.http("POST", f"/stations/{name}/work/{key}/finished", staff=True)
        return len(held)

    def _fire_left_timers(self, order_id: str) -> None:
        """Every timer waiting, but the order's own in the state it is in now, fired as
        due (``Shop.fire_timers``): the pizzas' oven timeouts and the order's kitchen
        timeout, each for a state that was left. The order's delivery timeout is
        dropped with the order."""
        import json

        from chalicelib import runtime
        from chalicelib.orders.service import ORDERS

        value = self._unmetered(lambda: runtime.read(ORDERS, order_id, None).snapshot.value)
        here = "order." + ".".join(_path(value))
        url = self.made.queue_urls["TimersQueue"]
        waiting = []
        while got := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            waiting += got
        for message in waiting:
            if json.loads(message["Body"])["event"]["type"].endswith(here):
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        self.fire_timers()


def _path(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    [(key, inner)] = value.items()
    return [key, *_path(inner)]


def measure(sizes: Iterable[int] = SIZES) -> dict[tuple[int, int], Usage]:
    """(version, pizzas) -> what the order used from confirm to all baked, metered."""
    with embedded_aws() as made:
        meter = KeyMeter(None, REGION)
        with meter.metering():
            shop = Bakery(made, meter)
            for version in VERSIONS:  # warm-up: queue URLs and key lookups, not counted
                shop.baked(version, 2)
            return {(v, n): shop.baked(v, n) for n in sizes for v in VERSIONS}


def timed(sizes: Iterable[int] = SIZES, rounds: int = 3) -> dict[tuple[int, int], list[float]]:
    """(version, pizzas) -> wall seconds from confirm to all baked, ``rounds`` of each,
    v1 and v3 alternating, on the local stack's serialised moto server."""
    import os

    from bench import system
    from bench.workload import SECRET

    took: dict[tuple[int, int], list[float]] = {}
    quiet = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
    saved = {k: os.environ.get(k) for k in quiet}
    os.environ.update(quiet)
    try:
        with system.local_aws() as made:
            os.environ["JWT_SECRET"] = SECRET
            shop = Bakery(made, SimpleNamespace(calls=[], function="?"))
            shop.sqs = _client("sqs")
            for version in VERSIONS:
                shop.baked(version, 2)
            for n in sizes:
                for r in range(rounds):
                    for version in VERSIONS if r % 2 == 0 else VERSIONS[::-1]:
                        order_id = shop._placed(version, n)
                        started = time.perf_counter()
                        shop.http("POST", f"/orders/{order_id}/confirm")
                        shop.drive(order_id)
                        took.setdefault((version, n), []).append(time.perf_counter() - started)
                        shop.drop("DeliveryQueue")  # its timers are delayed: never delivered
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return took


def _client(service: str) -> Any:
    import os

    import boto3

    return boto3.client(service, region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def main(argv: Iterable[str]) -> None:
    import logging
    import os
    from datetime import UTC, datetime

    from bench.fanout_report import report
    from bench.scale import write_section
    from chalicelib.orders.fanout import FanOut

    args = list(argv)
    sizes = SIZES
    if "--sizes" in args:
        sizes = tuple(int(n) for n in args[args.index("--sizes") + 1].split(","))
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    logging.getLogger("workflow").setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    measured = measure(sizes)
    took = timed(sizes, rounds)
    slots = FanOut.from_environment().oven_slots
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    text = report(measured, took, slots, f"{when}, {os.cpu_count()} CPUs")
    write_section(text, section=SECTION)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
