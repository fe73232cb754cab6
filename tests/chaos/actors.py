"""Clients that behave like real ones: customers placing, changing, confirming and
cancelling orders at random moments, staff finishing kitchen and delivery work (now
and then twice, or racing a colleague), and the scheduled sweeper. Every request is
retried with its Idempotency-Key after a 5xx, a dropped connection or a timeout."""

from __future__ import annotations

import contextvars
import dataclasses
import json
import random
import threading
import time
from typing import Any

from tests.chaos.faults import Crash, FaultInjector
from tests.chaos.history import Attempt, Poison, Request
from tests.chaos.parents import START, VERSION_3
from tests.chaos.profiles import DEFAULT, Profile
from tests.chaos.stack import Stack


def complaint_plan(seed: int, n: int, profile: Profile) -> Any:
    from tests.chaos.complaints import complaint_plan as plan  # it imports this module

    return plan(seed, n, profile)


FRUIT = ["banana", "coconut", "guava", "kiwi", "mango", "papaya", "pineapple", "strawberry"]
MAX_TRIES = 8
FAULTY_TRIES = 3  # faults are injected into the first tries only, so every request ends
POISON_QUEUES = ["OrderEventsQueue", "KitchenQueue", "DeliveryQueue", "TimersQueue"]


class Caller:
    """Sends one request with retries and records every attempt."""

    def __init__(
        self, stack: Stack, injector: FaultInjector, history: Any, profile: Profile = DEFAULT
    ) -> None:
        self.stack = stack
        self.injector = injector
        self.history = history
        self.twins = profile.twins  # of keyed client requests sent twice at once (issue 19)

    def send(
        self,
        request: Request,
        token: str,
        rng: random.Random,
        may_time_out: bool = True,
        record: bool = True,
        twins: bool = True,
    ) -> Attempt | None:
        """The answer the client finally saw (None if every try failed). Now and then
        (``twins``) a keyed client request goes out twice at once: its twin is a request
        of its own with the same key, recorded too."""
        keyed = twins and record and request.key and request.kind != "FINISH"
        if keyed and rng.random() < self.twins:
            twin = dataclasses.replace(request, attempts=[])
            twin_rng = random.Random(rng.getrandbits(64))
            other = threading.Thread(
                target=contextvars.copy_context().run,  # the order's start version too
                args=(self.send, twin, token, twin_rng, may_time_out),
                kwargs={"twins": False},
            )  # fmt: skip
            self.history.count("twins (one key, sent twice at once)")
            other.start()
            try:
                return self.send(request, token, rng, may_time_out, twins=False)
            finally:
                other.join()
        if record:
            self.history.add("requests", request)
        timed_out = not may_time_out
        for n in range(1, MAX_TRIES + 1):
            allow = n <= FAULTY_TRIES
            name = f"http:{request.kind}:{request.order}:{request.key}:{n}"
            start = time.time()
            with self.injector.scope(name, random.Random(rng.getrandbits(64)), allow) as scope:
                try:
                    answer = self.stack.http(
                        request.method, request.path, token, request.body, request.key
                    )
                    status, body = answer.status, answer.body
                except Crash:
                    status, body = None, "connection dropped"
            attempt = Attempt(start, time.time(), status, body, list(scope.faults))
            request.attempts.append(attempt)
            if status is None:
                self.history.count("dropped connections")
                continue
            conflict = status == 409 and isinstance(body, dict) and body.get("error") == "Conflict"
            if status >= 500 or conflict:
                self.history.count("retries after 5xx/409")
                continue
            if 200 <= status < 300 and not timed_out and rng.random() < 0.04:
                attempt.discarded = timed_out = True  # the client stopped waiting
                self.history.count("client timeouts")
                continue
            return attempt
        return request.final


class Customer:
    """Runs whole orders, one after the other, each with its own seeded plan."""

    def __init__(
        self,
        caller: Caller,
        seed: int,
        orders: list[int],
        lock: threading.Lock,
        profile: Profile = DEFAULT,
    ) -> None:
        self.profile = profile
        self.caller = caller
        self.stack = caller.stack
        self.history = caller.history
        self.seed = seed
        self.orders = orders
        self.lock = lock

    def run(self) -> None:
        while True:
            with self.lock:
                if not self.orders:
                    return
                n = self.orders.pop(0)
            try:
                self.order(n)
            except Exception as error:  # noqa: BLE001 - a harness bug: reported, run goes on
                self.history.add("harness_errors", f"customer {n}: {error!r}")

    def _fate(self, n: int, rng: random.Random) -> dict[str, Any]:
        r = rng.random()
        fate = {
            "reject": r < 0.08,
            "abandon": "kitchen" if 0.08 <= r < 0.14 else "delivery" if 0.14 <= r < 0.19 else None,
            "cancel_early": rng.random() < 0.08,
            "cancel_late": rng.random() < 0.15,
            "big": rng.random() < 0.03,
            "late_retry": rng.random() < self.profile.late_retry,
            "reuse_key": rng.random() < 0.03,
            "skip_quality": rng.random() < 0.05,  # version 2: nobody approves the check
        }
        if self.profile.every_order_delivered:
            fate.update(reject=False, abandon=None, cancel_early=False, cancel_late=False)
            fate.update(big=False, skip_quality=False)
        return fate

    def _pizza(self, rng: random.Random, name: str, reject: bool) -> dict[str, Any]:
        toppings = rng.sample(FRUIT, rng.randint(1, 3)) + (["lychee"] if reject else [])
        return {
            "name": name,
            "size": rng.choice(["small", "medium", "large"]),
            "toppings": toppings,
        }

    def order(self, n: int) -> None:
        """One order, on chart version 3 (pizzas as child workflows) for the profile's
        ``v3_share`` of them (drawn apart, so the other plans stay what they were)."""
        v3 = random.Random(f"{self.seed}:v3:{n}").random() < self.profile.v3_share
        token = START.set(VERSION_3 if v3 else None)
        try:
            self._order(n, v3)
        finally:
            START.reset(token)

    def _order(self, n: int, v3: bool) -> None:
        rng = random.Random(f"{self.seed}:order:{n}")
        user = f"c{n}"
        token = self.stack.token(user)
        fate = self._fate(n, rng)
        fate["user"], fate["complaint"] = user, complaint_plan(self.seed, n, self.profile)
        fate["n"], fate["v3"] = n, v3
        if n % 20 == 7:
            self._poison(n, rng)
        first = self._pizza(rng, f"o{n}-p0", fate["reject"])
        place = Request(
            None,
            user,
            "PLACE",
            "POST",
            "/orders",
            {"pizza": first},
            f"{user}-place",
            pizza=first["name"],
        )
        answer = self.caller.send(place, token, rng)
        if answer is None or answer.status != 201:
            self.history.add("harness_errors", f"order {n}: placing never answered 201")
            return
        order_id = answer.body["orderId"]
        place.order = order_id
        self.history.fates[order_id] = fate
        items = list(answer.body["items"])
        adds = rng.randint(70, 80) if fate["big"] else rng.choice([0, 1, 2, 3, 3, 7, 8, 9])
        used: list[Request] = []
        for i in range(1, adds + 1):
            if items and rng.random() < 0.25:
                item = rng.choice(items)
                request = Request(
                    order_id,
                    user,
                    "REMOVE_PIZZA",
                    "DELETE",
                    f"/orders/{order_id}/pizzas/{item['itemId']}",
                    None,
                    f"{user}-rm-{i}",
                    removes=item["name"],
                )
            else:
                pizza = self._pizza(rng, f"o{n}-p{i}", False)
                via_events = rng.random() < 0.2
                path = f"/orders/{order_id}/" + ("events" if via_events else "pizzas")
                body = {"type": "ADD_PIZZA", "pizza": pizza} if via_events else {"pizza": pizza}
                request = Request(
                    order_id,
                    user,
                    "ADD_PIZZA",
                    "POST",
                    path,
                    body,
                    f"{user}-add-{i}",
                    pizza=pizza["name"],
                )
                used.append(request)
            seen = self.caller.send(request, token, rng)
            if seen and seen.status == 200:
                items = list(seen.body["items"])
        if fate["reuse_key"] and used:
            old = rng.choice(used)
            pizza = self._pizza(rng, f"o{n}-reuse", False)
            request = Request(
                order_id,
                user,
                "ADD_PIZZA",
                "POST",
                f"/orders/{order_id}/pizzas",
                {"pizza": pizza},
                old.key,
                pizza=pizza["name"],
            )
            request.kind = "ADD_PIZZA_REUSED_KEY"
            self.caller.send(request, token, rng, may_time_out=False)
        if fate["late_retry"] or fate["big"]:
            self._late_retry(place, token, rng)
        if fate["cancel_early"]:
            self._cancel(order_id, user, token, rng, "early")
            return
        self._confirm(order_id, user, token, rng, n)
        if fate["cancel_late"]:
            time.sleep(rng.uniform(0, 0.4))
            self._cancel(order_id, user, token, rng, "late")

    def _late_retry(self, place: Request, token: str, rng: random.Random) -> None:
        """The first request's answer was lost long ago; the client sends it again."""
        start = time.time()
        try:
            answer = self.stack.http(place.method, place.path, token, place.body, place.key)
            status, body = answer.status, answer.body
        except Crash:
            status, body = None, "connection dropped"
        place.attempts.append(Attempt(start, time.time(), status, body, []))
        self.history.count("late retries")

    def _confirm(self, order_id: str, user: str, token: str, rng: random.Random, n: int) -> None:
        for i in range(3):
            request = Request(
                order_id,
                user,
                "CONFIRM_PIZZA",
                "POST",
                f"/orders/{order_id}/confirm",
                None,
                f"{user}-confirm-{i}",
            )
            seen = self.caller.send(request, token, rng)
            if seen is None or seen.status != 409:
                return
            pizza = self._pizza(rng, f"o{n}-again{i}", False)  # emptied: add one, confirm again
            add = Request(
                order_id,
                user,
                "ADD_PIZZA",
                "POST",
                f"/orders/{order_id}/pizzas",
                {"pizza": pizza},
                f"{user}-again-{i}",
                pizza=pizza["name"],
            )
            self.caller.send(add, token, rng)

    def _cancel(self, order_id: str, user: str, token: str, rng: random.Random, when: str) -> None:
        request = Request(
            order_id,
            user,
            "CANCEL_ORDER",
            "POST",
            f"/orders/{order_id}/cancel",
            {"reason": f"changed my mind ({when})"},
            f"{user}-cancel",
        )
        self.caller.send(request, token, rng)

    def _poison(self, n: int, rng: random.Random) -> None:
        """A rogue producer: a malformed message on one of the queues."""
        queue = rng.choice(POISON_QUEUES)
        body = rng.choice(
            [
                f"not json {n}",
                f'{{"poison": {n}}}',
                f"[{n}]",
                json.dumps({"specversion": "0.3", "id": f"poison-{n}", "type": "MAKE_PIZZA"}),
            ]
        )
        self.history.add("poison", Poison(queue, body))
        self.stack.send(queue, body)


class Staff:
    """Kitchen or delivery staff working from the staff routes."""

    def __init__(
        self, caller: Caller, station: str, rng: random.Random, stop: threading.Event
    ) -> None:
        self.caller = caller
        self.station = station
        self.rng = rng
        self.stop = stop
        self.route = "ready" if station == "kitchen" else "delivered"

    def run(self) -> None:
        token = self.caller.stack.staff_token
        while not self.stop.is_set():
            try:
                self.step(token)
            except Exception as error:  # noqa: BLE001 - a harness bug: reported, run goes on
                self.caller.history.add("harness_errors", f"{self.station} staff: {error!r}")

    def held(self, token: str) -> list[str]:
        listing = Request(
            None, f"{self.station}-staff", "LIST", "GET", f"/{self.station}/orders", None, None
        )
        seen = self.caller.send(listing, token, self.rng, may_time_out=False, record=False)
        if seen is None or seen.status != 200:
            return []
        fates = self.caller.history.fates
        return [
            w["orderId"]
            for w in seen.body["orders"]
            if fates.get(w["orderId"], {}).get("abandon") != self.station
        ]

    def step(self, token: str) -> None:
        held = self.held(token)
        if not held:
            time.sleep(self.rng.uniform(0.2, 0.5))  # each listing is a table scan on moto
            return
        order_id = self.rng.choice(held)
        r = self.rng.random()
        if r < 0.08:  # two staff race to finish the same order
            rngs = [random.Random(self.rng.getrandbits(64)) for _ in range(2)]
            racers = [threading.Thread(target=self.finish, args=(order_id, token, g)) for g in rngs]
            for t in racers:
                t.start()
            for t in racers:
                t.join()
            self.caller.history.count("staff races")
            return
        self.finish(order_id, token, self.rng)
        if r < 0.18:  # finishing the same order again, by mistake
            self.finish(order_id, token, self.rng)
            self.caller.history.count("staff double finishes")

    def finish(self, order_id: str, token: str, rng: random.Random) -> None:
        request = Request(
            order_id,
            f"{self.station}-staff",
            "FINISH",
            "POST",
            f"/{self.station}/orders/{order_id}/{self.route}",
            {},
            None,
        )
        self.caller.send(request, token, rng, may_time_out=False)


class Sweeper:
    """The scheduled outbox sweeper, at random moments alongside everything else."""

    def __init__(
        self,
        stack: Stack,
        injector: FaultInjector,
        history: Any,
        rng: random.Random,
        stop: threading.Event,
    ) -> None:
        self.stack, self.injector, self.history, self.rng, self.stop = (
            stack,
            injector,
            history,
            rng,
            stop,
        )

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(0.1, 0.6)):
            with self.injector.scope("sweeper", random.Random(self.rng.getrandbits(64))):
                try:
                    self.stack.sweep()
                    self.history.count("sweeps")
                except Crash:
                    self.history.count("sweeps crashed")
                except Exception:  # noqa: BLE001 - the schedule runs it again
                    self.history.count("sweeps failed")
