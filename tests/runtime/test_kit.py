"""The workflow kit itself: its clock, its timer queue and its bus helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.runtime import clock
from tests.kit import START, kit_factory
from tests.runtime.test_generic_runtime import rental

WEEK_MS = 7 * 24 * 3600 * 1000


def test_the_runtime_takes_its_time_from_the_kit_clock(workflow_kit):
    kit = workflow_kit(rental())
    kit.advance(hours=3)
    kit.start("r1", "RENT", {"bike": "b7"})
    assert kit.read("r1").meta["createdAt"] == clock.stamp(START + timedelta(hours=3))
    (timer,) = kit.timers
    assert clock.parse(timer["dueAt"]) == START + timedelta(hours=4)


def test_a_timer_does_not_fire_early(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    assert kit.advance(timedelta(hours=1) - timedelta(seconds=1, milliseconds=1)) == 0
    assert kit.state("r1") == "waitingForBike"
    assert kit.advance(timedelta(seconds=1, milliseconds=1)) == 1
    assert kit.state("r1") == "abandoned"


def test_a_long_timer_chains_in_hops_of_at_most_15_minutes(workflow_kit):
    kit = workflow_kit(rental(hold_ms=WEEK_MS))
    kit.start("r1", "RENT", {"bike": "b7"})
    (first,) = kit.timers
    kit.advance(minutes=15)  # the first hop arrives early and is sent again
    assert kit.timers == [first]
    assert kit.advance(days=6, hours=23) == 0
    assert kit.state("r1") == "waitingForBike"
    assert kit.advance(hours=1) == 1
    assert kit.state("r1") == "abandoned"
    assert kit.timers == []


def test_timers_fire_in_due_order_with_the_clock_at_their_time(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("late", "RENT", {"bike": "b1"})
    kit.advance(minutes=30)
    kit.start("later", "RENT", {"bike": "b2"})
    assert kit.advance(hours=2) == 2
    fired = {i: kit.history(i)[-1]["time"] for i in ("late", "later")}
    assert fired == {
        "late": clock.stamp(START + timedelta(hours=1)),
        "later": clock.stamp(START + timedelta(hours=1, minutes=30)),
    }
    assert kit.now == START + timedelta(hours=2, minutes=30)


def test_a_duplicated_reply_changes_nothing(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    first, again = kit.duplicate(kit.command("UNLOCK_BIKE", "r1"), "BIKE_UNLOCKED", {"dock": 3})
    assert first.view()["state"] == "riding"
    # riding takes no BIKE_UNLOCKED, but this one was applied: a duplicate, not a problem
    assert again is not None and again.duplicate and again.view() == first.view()
    assert kit.read("r1").view() == first.view()
    assert [h["eventType"] for h in kit.history("r1")].count("BIKE_UNLOCKED") == 1


def test_a_dropped_reply_leaves_the_instance_waiting_for_its_own_timer(workflow_kit):
    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    kit.drop(kit.command("UNLOCK_BIKE", "r1"), "BIKE_UNLOCKED", {"dock": 3})
    assert [e["type"] for e in kit.dropped] == ["BIKE_UNLOCKED"]
    assert kit.state("r1") == "waitingForBike"
    kit.advance(hours=1)
    assert kit.state("r1") == "abandoned"


def test_the_clock_does_not_run_backwards(workflow_kit):
    kit = workflow_kit(rental())
    with pytest.raises(ValueError):
        kit.advance(-1)
    assert kit.now == START


def test_the_wall_clock_and_timer_sends_come_back_after_the_kit(aws, monkeypatch):
    from chalicelib.runtime import timers

    real_send = timers.send
    with monkeypatch.context() as patch, kit_factory(patch) as make:
        make(rental())
        assert clock.current() == START
        assert timers.send is not real_send
    assert timers.send is real_send
    assert abs(clock.current() - datetime.now(UTC)) < timedelta(seconds=5)
