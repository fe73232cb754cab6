"""Deploying order chart version 2 over version 1 orders in flight in every state.

Pinned (no migration): they finish on version 1, timers and commands as before.
Migrated: they continue on version 2 from their next event. A wrong migration is refused
per instance (it stays on version 1, with a log line) and caught by the replay check.
Each run ends with the whole-history check: nothing lost, nothing duplicated."""

from __future__ import annotations

import pytest

from chalicelib.orders.versions import migrate_v1_to_v2, order_workflow_v2
from chalicelib.orders.workflow import Timing
from chalicelib.runtime import store
from chalicelib.runtime.entrypoints.check_versions import check, exported
from chalicelib.runtime.versions.replay import IDENTICAL, UNRESTORABLE
from tests.versions.inflight import Harness, check_nothing_lost, deployed, finish, v1_in_every_state

SERVED_TIMING = Timing.from_environment()


@pytest.fixture
def held(shop, monkeypatch):
    harness = Harness(shop, monkeypatch)
    return harness, v1_in_every_state(harness)


def _definitions(order_id: str) -> list[int]:
    return [r["definition"] for r in store.history(f"order#{order_id}")]


def test_pinned_orders_finish_on_version_1_and_new_ones_start_on_2(held):
    h, orders = held
    assert store.in_flight("order") == {1: len(orders)}
    with deployed(order_workflow_v2(SERVED_TIMING, migrate=False)):
        new = h.after(lambda: h.shop.new_order()["orderId"])
        assert store.in_flight("order") == {1: len(orders), 2: 1}
        finish(h, {**orders, "new": new})
        for order_id in orders.values():
            assert set(_definitions(order_id)) == {1}
            states = {r["to"] for r in store.history(f"order#{order_id}")}
            assert "qualityCheck" not in states
        assert "qualityCheck" in {r["to"] for r in store.history(f"order#{new}")}
        assert set(_definitions(new)) == {2}
        ends = {state: h.state(order_id) for state, order_id in orders.items()}
    # version 1's timers and commands as before: late ones give up, failed sends retry
    assert ends["bakePizza.runningLate"] == "cancelled"
    assert ends["deliverPizza.deliveryRunningLate"] == "cancelled"
    assert ends["bakePizza.errorInKitchen"] == "done"
    assert ends["deliverPizza.sendingOrderToDelivery"] == "done"
    check_nothing_lost(h, [*orders.values(), new])


def test_with_the_migration_orders_continue_on_version_2_from_their_next_event(held):
    h, orders = held
    before = {order_id: len(store.history(f"order#{order_id}")) for order_id in orders.values()}
    with deployed(order_workflow_v2(SERVED_TIMING)):
        assert store.in_flight("order") == {1: len(orders)}  # nothing moves until an event
        finish(h, orders)
        for state, order_id in orders.items():
            records = store.history(f"order#{order_id}")
            moved = records[before[order_id]]
            assert (moved["definition"], moved.get("migratedFrom")) == (2, 1), state
            assert {r["definition"] for r in records[before[order_id] :]} == {2}
        renamed = store.history(f"order#{orders['deliverPizza.sendingOrderToDelivery']}")
        assert renamed[before[orders["deliverPizza.sendingOrderToDelivery"]]]["from"] == (
            "deliverPizza.dispatching"
        )
        for state in ("orderPizza", "bakePizza.waitingForPizzaToBeBaked"):
            visited = [r["to"] for r in store.history(f"order#{orders[state]}")]
            assert "qualityCheck" in visited and visited[-1] == "done"
            final = h.stored(orders[state]).snapshot["context"]
            assert final["qualityCheckedBy"] == "sam"
        # every finished history replays identically on the deployed definition
        verdicts = check({"order": order_workflow_v2(SERVED_TIMING)},
                         iter(exported(f"order#{o}") for o in orders.values()))  # fmt: skip
        assert [v.line() for v in verdicts if v.kind != IDENTICAL] == []
    check_nothing_lost(h, list(orders.values()))


def _forgets_the_rename(snapshot):
    """Wrong: adds the field but leaves the renamed state's old name in the value."""
    return {**snapshot, "context": {**snapshot["context"], "qualityCheckedBy": None}}


def _skips_the_kitchen(snapshot):
    """Wrong: sends orders still waiting for the kitchen straight to the quality check."""
    migrated = migrate_v1_to_v2(snapshot)
    if isinstance(migrated["value"], dict) and "bakePizza" in migrated["value"]:
        migrated["value"] = "qualityCheck"
    return migrated


@pytest.mark.parametrize("wrong", [_forgets_the_rename, _skips_the_kitchen])
def test_a_wrong_migration_is_caught_by_the_replay_check_and_refused(held, caplog, wrong):
    h, orders = held
    before = {order_id: len(store.history(f"order#{order_id}")) for order_id in orders.values()}
    candidate = order_workflow_v2(SERVED_TIMING)
    candidate.versions.by_number[2] = type(candidate.versions.latest)(
        2, candidate.versions.latest.machine, wrong
    )
    verdicts = {v.instance: v for v in check({"order": candidate},
                iter(exported(f"order#{o}") for o in orders.values()))}  # fmt: skip
    refused = {state for state, o in orders.items() if verdicts[o].kind == UNRESTORABLE}
    expected = (
        {"deliverPizza.sendingOrderToDelivery"}
        if wrong is _forgets_the_rename
        else {"bakePizza.waitingForPizzaToBeBaked", "bakePizza.runningLate",
              "bakePizza.errorInKitchen", "bakePizza.sendingOrderToKitchen"}
    )  # fmt: skip
    assert refused == expected, [verdicts[o].line() for s, o in orders.items() if s not in expected]
    with deployed(candidate):
        finish(h, orders)
    for state, order_id in orders.items():
        first = _definitions(order_id)[before[order_id]]
        # refused: the next event commits on version 1 (each later event tries again, and
        # an order moves on once its snapshot migrates cleanly); the others moved
        assert first == (1 if state in expected else 2), state
    assert "migration refused" in caplog.text
    check_nothing_lost(h, list(orders.values()))
