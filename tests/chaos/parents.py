"""Parents and children in the schedule (issue 22): orders on chart version 3, whose
pizzas are child workflows, placed beside version 1 orders, and the oven staff.

- Which version an order starts on is drawn per order from the seed (the profile's
  ``v3_share``). The runtime reads ``workflow.starting`` when it creates an instance;
  during a run the order workflow answers it from ``START``, a context variable the
  customer sets for the whole of one order (its twins copy it), so every request of a
  version 3 order that could create it creates it on version 3, and a version 1 order
  on the workflow's own start version (1, or 2 after the deploy).
- ``mixed_workflow`` is what the deploy ships when the run mixes versions: versions 1,
  2 (the quality check, with or without the v1 -> v2 migration) and 3 (no migration
  from 2: version 3 orders stay on 3, version 1 orders move to 2 at most).
- ``OvenStaff`` bakes from the oven's board (``/stations/oven/work``) by a plan drawn per
  pizza from the seed: finish it, burn it once, burn it twice (the pizza fails, its order
  stops its other pizzas and is cancelled), or be slow (the pizza's oven timeout fires
  first; staff finish the bake later, a report for a pizza that has failed).
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from typing import Any

from tests.chaos.history import Request

START: contextvars.ContextVar[int | None] = contextvars.ContextVar("chaos_start", default=None)
VERSION_3 = 3
SLOW_SECONDS = 3.0  # a slow bake waits this long on the board before staff finish it


def order_of(instance_id: str) -> str:
    """The order a pizza instance belongs to (its id is ``<order>.<item>.<version>``)."""
    return instance_id.split(".", 1)[0]


def oven_plan(seed: int, pizza_id: str, profile: Any) -> str:
    """What the oven staff do with every bake of one pizza."""
    rng = random.Random(f"{seed}:oven:{pizza_id}")
    plans, weights = zip(*profile.oven, strict=True)
    return rng.choices(plans, weights)[0]


class _Chosen:
    """``workflow.starting`` answered per order: version 3 while ``START`` says so, else
    what the workflow was built (or deployed) to start on."""

    def __get__(self, workflow: Any, owner: Any = None) -> Any:
        if workflow is None:
            return self
        chosen = START.get()
        if chosen is not None and chosen in workflow.versions.by_number:
            return workflow.versions.by_number[chosen]
        return workflow.__dict__["starting"]

    def __set__(self, workflow: Any, value: Any) -> None:
        workflow.__dict__["starting"] = value


def choosing(workflow: Any, start: int | None = None) -> Any:
    """``workflow`` (changed in place, undone by ``unchoosing``) starting each order on
    the version ``START`` names; without it, on ``start`` (None: as built)."""
    base = workflow.__class__
    if "chaos_base" not in workflow.__dict__:
        workflow.__dict__["chaos_built"] = workflow.__dict__["starting"]
        workflow.__class__ = type(f"Chaos{base.__name__}", (base,), {"starting": _Chosen()})
        workflow.__dict__["chaos_base"] = base
    if start is not None:
        workflow.starting = workflow.versions.by_number[start]
    return workflow


def unchoosing(workflow: Any) -> None:
    base = workflow.__dict__.pop("chaos_base", None)
    if base is not None:
        workflow.__class__ = base
        workflow.starting = workflow.__dict__.pop("chaos_built")


def mixed_workflow(migrate: bool) -> Any:
    """Order chart versions 1, 2 and 3 declared together; new orders start on 2 unless
    ``START`` says 3."""
    from chalicelib.orders.fanout import COMMANDS_V3, PIZZA, FanOut, order_machine_v3
    from chalicelib.orders.versions import order_workflow_v2
    from chalicelib.orders.workflow import Timing
    from chalicelib.runtime import Version, Workflow

    timing = Timing.from_environment()
    v2 = order_workflow_v2(timing, migrate=migrate)
    v3 = Version(VERSION_3, order_machine_v3(timing, FanOut.from_environment()))
    return Workflow(
        "order", v3.machine, v2.client_events, v2.bus_events, {**v2.commands, **COMMANDS_V3},
        v2.view,
        version=VERSION_3, previous=list(v2.versions.by_number.values()), lock=v2.lock,
        children=(PIZZA,), start_on=2,
    )  # fmt: skip


class OvenStaff:
    """Oven staff on the board: each bake finished or burnt as its pizza's plan says,
    now and then twice or by two at once."""

    def __init__(
        self, caller: Any, rng: random.Random, stop: threading.Event, seed: int, profile: Any
    ) -> None:
        self.caller, self.rng, self.stop = caller, rng, stop
        self.seed, self.profile = seed, profile
        self.seen: dict[str, float] = {}  # bake id -> when staff first saw it

    def run(self) -> None:
        token = self.caller.stack.staff_token
        while not self.stop.is_set():
            try:
                if not self.step(token):
                    time.sleep(self.rng.uniform(0.2, 0.5))
            except Exception as error:  # noqa: BLE001 - a harness bug: reported, run goes on
                self.caller.history.add("harness_errors", f"oven staff: {error!r}")

    def held(self, token: str) -> list[dict[str, Any]]:
        listing = Request(None, "oven-staff", "LIST", "GET", "/stations/oven/work", None, None)
        seen = self.caller.send(listing, token, self.rng, may_time_out=False, record=False)
        if seen is None or seen.status != 200:
            return []
        return list(seen.body["work"])

    def step(self, token: str) -> int:
        """Work one bake that its plan lets staff work now; how many were worked."""
        now = time.time()
        ready = []
        for work in self.held(token):
            first = self.seen.setdefault(work["bakeId"], now)
            plan = oven_plan(self.seed, work["pizzaId"], self.profile)
            if plan != "slow" or now - first >= SLOW_SECONDS:
                ready.append(work)
        if not ready:
            return 0
        work = self.rng.choice(ready)
        r = self.rng.random()
        if r < 0.06:  # two staff race on the same bake
            rngs = [random.Random(self.rng.getrandbits(64)) for _ in range(2)]
            racers = [threading.Thread(target=self.work, args=(work, token, g)) for g in rngs]
            for t in racers:
                t.start()
            for t in racers:
                t.join()
            self.caller.history.count("oven staff races")
            return 1
        self.work(work, token, self.rng)
        if r < 0.14:
            self.work(work, token, self.rng)  # again, by mistake
            self.caller.history.count("oven staff double finishes")
        return 1

    def burns(self, work: dict[str, Any]) -> bool:
        plan = oven_plan(self.seed, work["pizzaId"], self.profile)
        attempt = work.get("attempt") or 1
        return plan == "burn_twice" or (plan == "burn_once" and attempt == 1)

    def work(self, work: dict[str, Any], token: str, rng: random.Random, plan: bool = True) -> None:
        """Finish the bake, or (``plan`` and its plan says so) reject it as burnt."""
        bake = work["bakeId"]
        if plan and self.burns(work):
            path, body, kind = f"/stations/oven/work/{bake}/rejected", {"reason": "burnt"}, "BURN"
        else:
            path, body, kind = f"/stations/oven/work/{bake}/finished", {}, "FINISH"
        request = Request(bake, "oven-staff", kind, "POST", path, body, None)
        self.caller.send(request, token, rng, may_time_out=False)

    def finish_all(self, token: str, rng: random.Random) -> int:
        """Quiescence: every held bake worked as its plan says (slow ones too)."""
        held = self.held(token)
        for work in held:
            self.work(work, token, rng)
        return len(held)
