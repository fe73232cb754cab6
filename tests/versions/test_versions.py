"""Versions without AWS: the lock, the migration chain and its refusals, the in-flight
counter changes, the replay check's verdicts, the history's event cap."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from chalicelib.orders.fanout import order_workflow_v3
from chalicelib.orders.versions import ORDER_CHART_V2, migrate_v1_to_v2, order_workflow_v2
from chalicelib.orders.workflow import LOCK, ORDER_ACTIONS, ORDER_CHART, ORDER_GUARDS, Timing
from chalicelib.orders.workflow import order_workflow as served
from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import Version, store, versions
from chalicelib.runtime.versions import DefinitionChanged, Versions, counter_changes
from chalicelib.runtime.versions.replay import DIVERGES, IDENTICAL, UNRESTORABLE, replay
from chalicelib.statechart import Machine

GOLDEN = Path(__file__).with_name("golden")


def _machine(chart):
    return Machine(chart, actions=ORDER_ACTIONS, guards=ORDER_GUARDS, delays=Timing().delays())


def _golden(name):
    return json.loads((GOLDEN / f"order-{name}.json").read_text())


def test_every_declared_version_is_in_the_lock_with_its_hash():
    locked = versions.read_lock(LOCK)["order"]
    for workflow in (served(), order_workflow_v2()):
        for number, version in workflow.versions.by_number.items():
            assert locked[str(number)] == version.hash
    served_now = WORKFLOWS["order"]
    assert sorted(served_now.versions.by_number) == [1, 3]  # 2 is the tests' example only
    for number, version in served_now.versions.by_number.items():
        assert locked[str(number)] == version.hash
    assert served_now.starting.number == 1  # make run starts new orders on version 1


def test_an_edited_chart_under_a_locked_number_fails_at_start_up(tmp_path):
    lock = tmp_path / "versions.lock.json"
    lock.write_text(LOCK.read_text())
    edited = copy.deepcopy(ORDER_CHART)
    edited["states"]["orderPizza"]["meta"]["message"] = "Ordering..."
    workflow = served()
    with pytest.raises(DefinitionChanged, match="order version 1 changed"):
        type(workflow)("order", _machine(edited), workflow.client_events, workflow.bus_events,
                       workflow.commands, workflow.view, lock=lock)  # fmt: skip
    assert json.loads(lock.read_text()) == json.loads(LOCK.read_text())


def test_record_lock_adds_new_versions_and_never_rewrites_one(tmp_path):
    lock = tmp_path / "versions.lock.json"
    assert versions.record_lock("order", served().versions, lock) == [1]
    assert versions.record_lock("order", order_workflow_v2().versions, lock) == [2]
    assert versions.record_lock("order", order_workflow_v2().versions, lock) == []
    assert versions.record_lock("order", order_workflow_v3().versions, lock) == [3]
    assert versions.read_lock(lock) == versions.read_lock(LOCK)


def test_version_numbers_must_rise():
    machine = _machine(ORDER_CHART)
    with pytest.raises(ValueError, match="rising"):
        Versions([Version(2, machine), Version(1, machine)])


@pytest.mark.parametrize(
    ("old", "new", "active", "changes"),
    [
        (None, 1, True, {1: 1}),  # started
        (None, 1, False, {}),  # started and ended in one commit
        (1, 1, True, {}),
        (1, 1, False, {1: -1}),  # ended
        (1, 2, True, {1: -1, 2: 1}),  # migrated
        (1, 2, False, {1: -1}),  # migrated by the event that ended it
    ],
)
def test_counter_changes(old, new, active, changes):
    assert counter_changes(old, new, active) == changes


def test_the_migration_renames_the_state_and_adds_the_field():
    v2 = order_workflow_v2()
    snapshot = {"format": 1, "machine": "order", "status": "active",
                "value": {"deliverPizza": "sendingOrderToDelivery"},
                "context": {**ORDER_CHART["context"], "orderId": "o"},
                "children": {"sendOrderToDelivery": "orderDeliveryFromDelivery"}}  # fmt: skip
    upgrade = v2.versions.upgrade(1, snapshot, invokes=["sendOrderToDelivery"])
    assert (upgrade.number, upgrade.migrated_from, upgrade.refused) == (2, 1, None)
    assert upgrade.snapshot["value"] == {"deliverPizza": "dispatching"}
    assert upgrade.snapshot["context"]["qualityCheckedBy"] is None
    assert snapshot["value"] == {"deliverPizza": "sendingOrderToDelivery"}  # not mutated
    pinned = order_workflow_v2(migrate=False).versions.upgrade(1, snapshot)
    assert (pinned.number, pinned.snapshot) == (1, snapshot)


def test_a_migration_that_raises_or_leaves_a_timer_behind_is_refused():
    def broken(snapshot):
        raise KeyError("nope")

    machine_v1, machine_v2 = _machine(ORDER_CHART), order_workflow_v2().machine
    waiting = {"format": 1, "machine": "order", "status": "active",
               "value": {"bakePizza": "waitingForPizzaToBeBaked"},
               "context": dict(ORDER_CHART["context"])}  # fmt: skip
    timer = "xstate.after.kitchenTimeout.order.bakePizza.waitingForPizzaToBeBaked"
    chain = Versions([Version(1, machine_v1), Version(2, machine_v2, broken)])
    assert "KeyError" in chain.upgrade(1, waiting).refused
    to_quality = Versions([Version(1, machine_v1), Version(2, machine_v2, lambda s: {
        **migrate_v1_to_v2(s), "value": "qualityCheck"})])  # fmt: skip
    refused = to_quality.upgrade(1, waiting, timers=[timer])
    assert refused.number == 1 and "would no longer fire" in refused.refused
    assert to_quality.upgrade(1, waiting).number == 2  # without the timer it could run


def test_the_replay_check_says_where_an_edited_chart_diverges():
    edited = copy.deepcopy(ORDER_CHART)
    edited["states"]["bakePizza"]["on"]["PIZZA_READY"]["target"] = "done"
    workflow = served()
    candidate = type(workflow)("order", _machine(edited), workflow.client_events,
                               workflow.bus_events, workflow.commands, workflow.view)  # fmt: skip
    verdict = replay(candidate, _golden("delivered"))
    assert verdict.kind == DIVERGES
    assert verdict.at == 6
    assert "recorded state deliverPizza.sendingOrderToDelivery, replayed done" in verdict.detail
    assert replay(served(), _golden("delivered")).kind == IDENTICAL


def test_the_replay_check_refuses_what_it_cannot_replay():
    history = _golden("rejected")
    history["history"][2]["event"] = {"type": "REMOVE_PIZZA", "truncated": True, "bytes": 1}
    verdict = replay(served(), history)
    assert (verdict.kind, verdict.at) == (UNRESTORABLE, 3)
    moved = _golden("rejected")
    for record in moved["history"]:
        record["definition"] = 7
    assert "version 7 is not declared" in replay(served(), moved).detail


def test_a_changed_action_shows_as_a_changed_snapshot():
    actions = {**ORDER_ACTIONS, "countAttempt": ORDER_ACTIONS["resetAttempts"]}
    machine = Machine(ORDER_CHART, actions=actions, guards=ORDER_GUARDS, delays=Timing().delays())
    workflow = served()
    candidate = type(workflow)("order", machine, workflow.client_events, workflow.bus_events,
                               workflow.commands, workflow.view)  # fmt: skip
    verdict = replay(candidate, _golden("cancelled-while-baking"))
    assert verdict.kind == DIVERGES and "snapshot" in verdict.detail


def test_a_history_event_past_the_cap_is_kept_as_its_type_and_size():
    small = {"type": "E", "data": "x"}
    assert json.loads(store.history_event(small)) == small
    big = {"type": "E", "data": "x" * (store.HISTORY_EVENT_BYTES + 1)}
    kept = json.loads(store.history_event(big))
    assert kept == {
        "type": "E",
        "truncated": True,
        "bytes": len(json.dumps(big, separators=(",", ":"))),
    }


def test_version_2_keeps_every_v1_state_but_the_renamed_one():
    assert set(ORDER_CHART_V2["states"]) == set(ORDER_CHART["states"]) | {"qualityCheck"}
    assert "dispatching" in ORDER_CHART_V2["states"]["deliverPizza"]["states"]


def test_a_version_that_drops_an_invokes_on_error_is_refused():
    """Issue 19, Medium 6: the check fed an active invoke only its done event, so a version
    without the kitchen send's onError was accepted and the order then died in status
    error when the send was given up."""
    chart = copy.deepcopy(ORDER_CHART)
    sending = chart["states"]["bakePizza"]["states"]["sendingOrderToKitchen"]
    assert sending["invoke"].pop("onError")
    sending_v1 = {"format": 1, "machine": "order", "status": "active",
                  "value": {"bakePizza": "sendingOrderToKitchen"},
                  "context": dict(ORDER_CHART["context"])}  # fmt: skip
    [invoke_id] = [sending["invoke"]["id"]]
    chain = Versions([Version(1, _machine(ORDER_CHART)), Version(2, _machine(chart), dict)])
    refused = chain.upgrade(1, sending_v1, invokes=[invoke_id])
    assert refused.number == 1 and "failure of its active invoke" in refused.refused
    same = Versions([Version(1, _machine(ORDER_CHART)), Version(2, _machine(ORDER_CHART), dict)])
    assert same.upgrade(1, sending_v1, invokes=[invoke_id]).number == 2
