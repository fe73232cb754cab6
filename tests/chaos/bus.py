"""The event source mappings, with the bus misbehaving: messages delivered twice,
held back and delivered later, batches shuffled and split, timers firing late or
twice. Each pump step is one Lambda invocation on one batch of one queue."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

from tests.chaos.faults import FaultInjector
from tests.chaos.history import Delivery, History
from tests.chaos.parents import oven_plan
from tests.chaos.stack import STATIONS, Stack

TIMERS = "TimersQueue"
FIRE_NOW = "2000-01-01T00:00:00.000Z"  # a timer's dueAt rewritten: its delay has passed
COPY = {"chaosCopy": {"DataType": "String", "StringValue": "1"}}
CLEAN_RECEIVES = 4  # from this receive on, a message is handled without injected faults


class Bus:
    """SQS delivery for every queue plus the harness's held messages and timer wheel."""

    def __init__(
        self, stack: Stack, injector: FaultInjector, history: History, profile: Any = None
    ) -> None:
        self.profile = profile  # the oven plans of pizzas (None: no slow oven)
        self.stack = stack
        self.injector = injector
        self.history = history
        self.held: list[tuple[float, str, str, bool]] = []  # (release at, queue, body, copy)
        self.wheel: list[tuple[float | None, dict[str, Any]]] = []  # None: until quiescence
        self._lock = threading.Lock()

    # one invocation ----------------------------------------------------------
    def pump(self, queue: str, rng: random.Random, chaos: bool) -> int:
        """Receive one batch and run the handler on it; returns how many messages were
        received (0: the queue had nothing visible)."""
        self.release(queue, held=not chaos)
        messages = self.stack.receive(queue)
        received = len(messages)
        if queue == TIMERS:
            messages = self._timer_intake(messages, rng, chaos)
        if not messages:
            return received
        if chaos and rng.random() < 0.08:
            late = messages.pop(rng.randrange(len(messages)))  # held back: delivered later
            self.stack.delete(queue, late)
            self._hold(queue, late["Body"], rng.uniform(0.05, 1.0), copy=False)
            self.history.count("held back")
            if not messages:
                return received
        if chaos:
            rng.shuffle(messages)
        batches = [messages]
        if chaos and len(messages) > 2 and rng.random() < 0.3:
            cut = rng.randrange(1, len(messages))
            batches = [messages[:cut], messages[cut:]]
        for batch in batches:
            self._invoke(queue, batch, rng, chaos)
        return received

    def _invoke(
        self, queue: str, batch: list[dict[str, Any]], rng: random.Random, chaos: bool
    ) -> None:
        receives = max(
            int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)) for m in batch
        )
        allow = chaos and receives < CLEAN_RECEIVES
        name = f"sqs:{queue}:{batch[0]['MessageId'][:8]}"
        with self.injector.scope(name, random.Random(rng.getrandbits(64)), allow):
            failed = self.stack.run_batch(queue, batch)
        at = time.time()
        self.stack.settle_batch(queue, batch, failed, backoff=chaos)
        if failed:
            self.history.count("redelivered", len(failed))
        for m in batch:
            ok = m["MessageId"] not in failed
            self._log(queue, m, ok, at)
            if not ok or not chaos or self._is_poison(m["Body"]):
                continue
            r = rng.random()
            if r < 0.05:
                self._hold(queue, m["Body"], 0, copy=True)  # delivered twice
                self.history.count("duplicated")
            elif r < 0.09 or (queue == TIMERS and r < 0.15):
                self._hold(queue, m["Body"], rng.uniform(0.05, 1.5), copy=True)  # late copy
                self.history.count("late copies")

    def _is_poison(self, body: str) -> bool:
        return any(p.body == body for p in self.history.poison)

    def _log(self, queue: str, message: dict[str, Any], ok: bool, at: float) -> None:
        station = STATIONS.get(queue)
        if station is None:
            return
        try:
            event = json.loads(message["Body"])
            kind, event_id = str(event["type"]), str(event["id"])
            order = (event.get("data") or {}).get("orderId") or event.get("subject")
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # poison: checked through the DLQ
        copy = "chaosCopy" in message.get("MessageAttributes", {})
        self.history.add("deliveries", Delivery(at, station, kind, event_id, order, ok, copy))

    # held messages and timers ------------------------------------------------
    def _hold(self, queue: str, body: str, delay: float, copy: bool) -> None:
        with self._lock:
            self.held.append((time.time() + delay, queue, body, copy))

    def release(self, queue: str, held: bool = False, timers: bool = False) -> int:
        """Send the held messages of ``queue`` whose time has come (all of them when
        ``held``); for the timers queue also the timers due on the wheel (all of them
        when ``timers``: the clock jumps forward)."""
        now = time.time()
        with self._lock:
            due = [h for h in self.held if h[1] == queue and (held or h[0] <= now)]
            self.held = [h for h in self.held if h not in due]
            fire = []
            if queue == TIMERS:
                fire = [w for w in self.wheel if timers or (w[0] is not None and w[0] <= now)]
                self.wheel = [w for w in self.wheel if w not in fire]
        for _, q, body, copy in due:
            self.stack.sqs.send_message(
                QueueUrl=self.stack.made.queue_urls[q],
                MessageBody=body,
                MessageAttributes=COPY if copy else {},
            )
        for _, body in fire:
            self.stack.send(TIMERS, json.dumps({**body, "dueAt": FIRE_NOW}))
        return len(due) + len(fire)

    def waiting(self) -> int:
        with self._lock:
            return len(self.held) + len(self.wheel)

    def _timer_intake(
        self, messages: list[dict[str, Any]], rng: random.Random, chaos: bool
    ) -> list[dict[str, Any]]:
        """Timers not yet due go on the wheel (the harness's clock decides when they
        fire); due ones, poison and now and then an early one are delivered."""
        deliver = []
        for m in messages:
            try:
                body = json.loads(m["Body"])
                due = body["dueAt"]
                schedule = str(body["scheduleId"])
            except (ValueError, KeyError, TypeError):
                deliver.append(m)
                continue
            if due == FIRE_NOW:
                deliver.append(m)
                self.history.count("timers fired")
                continue
            if chaos and rng.random() < 0.05:
                deliver.append(m)  # early: the runtime must send it again for the rest
                self.history.count("timers delivered early")
                continue
            self.stack.delete(TIMERS, m)
            fire_in = self._fire_in(schedule, str(body.get("instance")), rng, chaos)
            with self._lock:
                self.wheel.append((None if fire_in is None else time.time() + fire_in, body))
        return deliver

    def _fire_in(self, schedule: str, order: str, rng: random.Random, chaos: bool) -> float | None:
        """When a timer fires, in seconds from now; None: when nothing else moves (in
        quiescence, or never during the schedule)."""
        if "Retry" in schedule:
            return rng.uniform(0.01, 0.3) if chaos else 0
        if not chaos:
            return None
        if "ovenTimeout" in schedule and self.profile is not None:
            if oven_plan(self.injector.seed, order, self.profile) == "slow":
                return rng.uniform(0.1, 1.0)  # the oven is slow: the pizza gives up first
            return None
        fate = self.history.fates.get(order, {})
        abandoned = fate.get("abandon")
        if abandoned and abandoned in schedule:
            return rng.uniform(0.1, 1.0)
        if fate.get("skip_quality") and "qualityTimeout" in schedule:
            return rng.uniform(0.1, 1.0)
        plan = fate.get("complaint") or {}
        if (plan.get("escalate") and "escalateAfter" in schedule) or (
            plan.get("silent") and "customerSilence" in schedule
        ):
            return rng.uniform(0.1, 1.0)  # nobody decides / answers: the deadline passes
        if rng.random() < 0.04:
            return rng.uniform(0.2, 2.0)  # the station is late and the timeout races it
        return None
