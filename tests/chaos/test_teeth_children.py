"""The teeth of the parent/child rules (tests/chaos/family.py): each fires when the real
schedule, every order on chart version 3 (pizzas as child workflows), runs against a
runtime broken on purpose (a mutant applied with monkeypatch for that run only). As in
test_teeth.py, each test first asserts that its case occurred, then that its rule fired.
The runs are slow (about a minute each under load): marked ``chaos_teeth`` like the
other mutants (``make chaos-teeth``; skipped by ``make test`` unless CHAOS_TEETH=1).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.orders.fanout import FanOut
from tests.chaos.profiles import DEFAULT
from tests.chaos.run import Report
from tests.chaos.test_teeth import _fires, _run

pytestmark = pytest.mark.chaos_teeth
SLOTS = FanOut.from_environment().oven_slots  # K, as the app reads it

# every order on version 3, no complaints (they add nothing here), many pizzas failing
# (burnt twice: the order stops its other pizzas and is cancelled)
PARENTS = dataclasses.replace(
    DEFAULT, name="parents", v3_share=1.0, complaint_share=0.0,
    oven=(("finish", 5), ("burn_once", 2), ("burn_twice", 3)),
)  # fmt: skip


def start_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child's start creates it twice: under its id and under another one."""
    from chalicelib.runtime.entrypoints import intake

    real = intake.start

    def start(workflow: Any, subject: str, owner: str, context: Any, incoming: Any) -> Any:
        outcome = real(workflow, subject, owner, context, incoming)
        if incoming.event["type"] == "xstate.start":
            with contextlib.suppress(Exception):  # the copy exists already
                real(workflow, f"{subject}x", owner, context, incoming)
        return outcome

    monkeypatch.setattr(intake, "start", start)


def drop_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that finishes tells its parent nothing."""
    from chalicelib.runtime.messaging import actors

    monkeypatch.setattr(actors.Message, "finished", lambda self, *a, **k: None)


def drop_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent stopping a child records it stopped and sends no stop message."""
    from chalicelib.runtime.messaging import actors

    real = actors.Message.stop

    def stop(self: Any, actor_id: str, message_id: str, seq: Any, now: str) -> None:
        real(self, actor_id, message_id, seq, now)

    monkeypatch.setattr(actors.Message, "stop", stop)


def more_in_the_oven(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order grants two oven slots more than K."""
    from chalicelib.orders import fanout
    from chalicelib.registry import WORKFLOWS

    slots = fanout.FanOut.from_environment().oven_slots
    grant = WORKFLOWS["order"].versions.by_number[3].machine.actions["grantOvenSlots"]
    monkeypatch.setattr(grant, "collect", fanout._granting(slots + 2))


def _children(report: Report) -> dict[str, Any]:
    return report.checker.family.children


def started(report: Report) -> bool:
    return bool(_children(report))


def finished(report: Report) -> bool:
    return any(c.snapshot.get("status") == "done" for c in _children(report).values())


def stopped(report: Report) -> bool:
    parents = report.checker.family.parents.values()
    return any(c["status"] == "stopped" for p in parents for c in p.actors["children"].values())


def crowded(report: Report) -> bool:
    parents = report.checker.family.parents.values()
    return any(len(p.actors["children"]) > SLOTS for p in parents)


Case = tuple[Callable[..., None], str, Callable[[Report], bool]]
MUTANTS: list[Case] = [
    (start_twice, "a child is started at most once", started),
    (drop_completion, "no lost completion", finished),
    (drop_stop, "no child outlives its parent", stopped),
    (drop_stop, "a cancelled order never ends with a running pizza", stopped),
    (more_in_the_oven, f"at most K pizzas of one order in the oven (K={SLOTS})", crowded),
]


@pytest.mark.parametrize(
    ("mutant", "rule", "occurred"),
    [pytest.param(*m, id=f"{m[0].__name__}-{i}") for i, m in enumerate(MUTANTS)],
)
def test_a_broken_runtime_breaks_a_parent_child_rule(monkeypatch, mutant, rule, occurred):
    mutant(monkeypatch)
    report = _run(PARENTS)
    assert occurred(report), f"the run never produced the case ({occurred.__name__})"
    _fires(report, rule)


def test_the_parents_schedule_reports_no_violation():
    report = _run(PARENTS)
    assert started(report) and finished(report) and stopped(report), report.table()
    assert crowded(report), report.table()
    assert not report.violations, report.explain()
