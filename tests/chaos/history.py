"""What the harness saw: every client request and its attempts, every command a
station was handed and how that went, every staff action, every poison message."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.faults import Fault


@dataclass(slots=True)
class Attempt:
    """One try of a request: when, what came back (None: the connection dropped)."""

    start: float
    end: float
    status: int | None
    body: Any
    faults: list[Fault]
    discarded: bool = False  # the client gave up waiting and never saw this answer


@dataclass(slots=True)
class Request:
    """One client request (all its retries share one Idempotency-Key)."""

    order: str | None
    who: str
    kind: str  # PLACE, ADD_PIZZA, REMOVE_PIZZA, CONFIRM_PIZZA, CANCEL_ORDER, FINISH
    method: str
    path: str
    body: Any
    key: str | None
    attempts: list[Attempt] = field(default_factory=list)
    pizza: str | None = None  # the pizza name an add or place carries
    removes: str | None = None  # the pizza name a remove took out, as the client saw it

    @property
    def final(self) -> Attempt | None:
        seen = [a for a in self.attempts if not a.discarded]
        return seen[-1] if seen else None

    @property
    def ok(self) -> bool:
        return any(a.status is not None and 200 <= a.status < 300 for a in self.attempts)


@dataclass(slots=True)
class Delivery:
    """A message handed to a station's handler and whether it succeeded."""

    at: float
    station: str
    type: str
    id: str
    order: str | None
    ok: bool
    copy: bool  # a duplicate or held-back copy the harness sent, not the original


@dataclass(slots=True)
class Deploy:
    """A deploy of order chart version 2 during the schedule: when its code went live,
    whether the v1 -> v2 migration was declared, how many orders had been placed by then
    and the states the orders in flight were in."""

    at: float  # just before the new code went live
    live: float  # every invocation started after this runs the new code
    migrate: bool
    placed: int
    in_flight: dict[str, int]


@dataclass(slots=True)
class Poison:
    queue: str
    body: str


class History:
    """The complete history of one run (thread-safe appends)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.deliveries: list[Delivery] = []
        self.poison: list[Poison] = []
        self.fates: dict[str, dict[str, Any]] = {}
        self.harness_errors: list[str] = []
        self.deploys: list[Deploy] = []
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, what: str, record: Any) -> None:
        with self._lock:
            getattr(self, what).append(record)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def now(self) -> float:
        return time.time()
