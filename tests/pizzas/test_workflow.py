"""The pizza workflow's machine on its own (pure transitions): its input, the bake
command and its work id, the publish retries, the rebake, the reports it ignores, its
output and view."""

from __future__ import annotations

import pytest

from chalicelib.pizzas.service import PIZZAS
from chalicelib.pizzas.workflow import (
    COMMANDS,
    LOCK,
    PIZZA_CHART,
    Timing,
    in_oven,
    pizza_machine,
    pizza_view,
)
from chalicelib.runtime import versions
from chalicelib.statechart import Snapshot

INPUT = {"orderId": "o1", "itemId": "item-2", "pizza": {"name": "Mango", "size": "large"}}
MACHINE = pizza_machine(Timing(oven_timeout=600, retry=1, send_attempts=3))


def _start() -> Snapshot:
    return MACHINE.initial_transition(input=INPUT).snapshot


def _step(snapshot: Snapshot, event_type: str, **fields):
    return MACHINE.transition(snapshot, {"type": event_type, **fields})


def _report(attempt: int, **data) -> dict:
    return {"data": {"station": "oven", "bakeId": f"o1.item-2.{attempt}", **data}}


def _in_oven() -> Snapshot:
    sending = _step(_start(), "OVEN_SLOT").snapshot
    return _step(sending, "xstate.done.actor.bake").snapshot


def test_a_pizza_starts_queued_from_its_orders_input():
    snapshot = _start()
    assert snapshot.value == "queued"
    assert {k: snapshot.context[k] for k in INPUT} == INPUT
    assert snapshot.context["status"] == "Waiting for a free oven..."
    assert _step(snapshot, "PIZZA_BAKED", **_report(1)).handled is False  # not in the oven


def test_an_oven_slot_sends_bake_pizza_with_the_bakes_work_id():
    step = _step(_start(), "OVEN_SLOT")
    assert step.snapshot.value == {"baking": "sending"}
    [invoke] = [e for e in step.effects if e.kind == "invoke"]
    assert (invoke.id, invoke.type) == ("bake", "bakeInOven")
    command = COMMANDS["bakeInOven"]
    assert command.type == "BAKE_PIZZA"
    assert command.data(step.snapshot.context, None) == {
        "bakeId": "o1.item-2.1", "orderId": "o1", "itemId": "item-2",
        "pizza": {"name": "Mango", "size": "large"}, "attempt": 1,
    }  # fmt: skip
    assert in_oven(step.snapshot) and not in_oven(_start())


def test_a_command_that_cannot_be_sent_is_retried_under_the_same_work_id_then_fails():
    snapshot = _step(_start(), "OVEN_SLOT").snapshot
    for sends in (1, 2):
        step = _step(snapshot, "xstate.error.actor.bake", error="bus down")
        assert step.snapshot.value == {"baking": "ovenUnreachable"}
        [retry] = [e for e in step.effects if e.kind == "schedule"]
        assert retry.delay_ms == 1000 * 2 ** (sends - 1)
        snapshot = _step(step.snapshot, retry.event["type"]).snapshot
        assert snapshot.value == {"baking": "sending"}
        assert (snapshot.context["sends"], snapshot.context["bakeId"]) == (sends + 1, "o1.item-2.1")
    step = _step(snapshot, "xstate.error.actor.bake", error="bus down")
    assert step.snapshot.value == "failed" and step.snapshot.status == "done"
    assert step.snapshot.output == {
        "itemId": "item-2", "baked": False, "reason": "the oven could not be reached",
        "attempts": 1,
    }  # fmt: skip


def test_the_retry_backs_off_exponentially_with_the_sends():
    delays = Timing(retry=2).delays()
    assert [delays["ovenRetry"]({"sends": n}, {}) for n in (1, 2, 3)] == [2000, 4000, 8000]


def test_baked_ends_it_with_who_baked_it():
    step = _step(_in_oven(), "PIZZA_BAKED", **_report(1, by="ana", at="2026-01-01T12:00:00Z"))
    assert step.snapshot.value == "baked" and step.snapshot.status == "done"
    assert step.snapshot.context["status"] == "Baked."
    assert step.snapshot.output == {
        "itemId": "item-2", "baked": True, "by": "ana", "at": "2026-01-01T12:00:00Z",
        "attempts": 1,
    }  # fmt: skip


def test_a_burnt_pizza_is_baked_again_once_then_fails():
    snapshot = _in_oven()
    step = _step(snapshot, "PIZZA_BURNT", **_report(1, reason="too dark"))
    assert step.snapshot.value == {"baking": "sending"}
    assert step.snapshot.context["bakeId"] == "o1.item-2.2"
    assert step.snapshot.context["attempts"] == 2
    assert [e.kind for e in step.effects if e.kind in ("invoke", "cancel_invoke")] == ["invoke"]
    assert COMMANDS["bakeInOven"].data(step.snapshot.context, None)["attempt"] == 2
    snapshot = _step(step.snapshot, "xstate.done.actor.bake").snapshot
    assert _step(snapshot, "PIZZA_BURNT", **_report(1)).handled is False  # the old bake
    failed = _step(snapshot, "PIZZA_BURNT", **_report(2, reason="charcoal")).snapshot
    assert failed.value == "failed"
    assert failed.context["status"] == "Could not be baked: charcoal."
    assert failed.output == {"itemId": "item-2", "baked": False, "reason": "charcoal",
                             "attempts": 2}  # fmt: skip


def test_an_oven_that_takes_too_long_fails_the_pizza():
    snapshot = _in_oven()
    timeout = f"xstate.after.ovenTimeout.{MACHINE.id}.baking.inOven"
    failed = _step(snapshot, timeout).snapshot
    assert failed.value == "failed"
    assert failed.output["reason"] == "the oven took too long"


def test_the_view_shows_the_pizza_one_by_one():
    snapshot = _step(_in_oven(), "PIZZA_BURNT", **_report(1)).snapshot
    view = pizza_view(snapshot, {"id": "o1.item-2.4", "version": 1})
    assert view["pizzaId"] == "o1.item-2.4" and view["itemId"] == "item-2"
    assert view["pizza"] == INPUT["pizza"]
    assert view["state"] == {"baking": "sending"}
    assert view["status"] == "Putting the pizza in the oven..."
    assert (view["attempts"], view["done"], view["output"]) == (2, False, None)


def test_timing_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("PIZZA_OVEN_TIMEOUT_SECONDS", "90")
    monkeypatch.setenv("PIZZA_SEND_ATTEMPTS", "5")
    assert Timing.from_environment() == Timing(oven_timeout=90.0, send_attempts=5)
    monkeypatch.setenv("PIZZA_SEND_ATTEMPTS", "many")
    with pytest.raises(ValueError):
        Timing.from_environment()


def test_the_pizza_workflow_is_locked_and_takes_only_oven_reports():
    assert versions.read_lock(LOCK)["pizza"]["1"] == PIZZAS.versions.latest.hash
    assert PIZZAS.client_events == {}
    assert sorted(PIZZAS.bus_events) == ["PIZZA_BAKED", "PIZZA_BURNT"]
    assert callable(PIZZA_CHART["context"])  # XState's context factory: from the input
