"""The parent/child rules (tests/chaos/family.py) on a made-up history: an order with
two pizzas, intact (no violation), then with one defect each (its rule, and only the
rules it should, fire). Fast: no stack; the chaos runs and their mutants are in
test_chaos.py and test_teeth_children.py."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.orders.fanout import FanOut
from chalicelib.runtime.store.records import Instance
from tests.chaos.checker import Checker
from tests.chaos.family import Family
from tests.chaos.faults import FaultInjector, Published, Rates
from tests.chaos.history import History

ORDER = "0123abcd"
ITEMS = ("item-1", "item-2", "item-3")


def _instance(pk: str, status: str, value: Any, actors: dict, version: int, **ctx: Any) -> Any:
    snapshot = {"status": status, "value": value, "context": ctx}
    return Instance(pk, version, snapshot, None, {}, None, None, actors=actors)


def _time(second: float) -> str:
    return f"2026-12-03T12:00:{second:06.3f}Z"


def _family(stopped: str | None = "item-3") -> Family:
    """Order v3 spawns three pizzas at its v3; K=2: item-1 and item-2 bake, item-1 is
    done, then item-3 gets its slot and is done, item-2 too; with ``stopped``, that pizza
    is stopped instead of baked (the order cancelled: here it stays done for the rest)."""
    checker = Checker(None, History(), FaultInjector(0, Rates.off()))  # type: ignore[arg-type]
    family = Family(checker)
    order_pk = f"order#{ORDER}"
    children, order_hist = {}, [
        {"version": 3, "eventType": "CONFIRM_PIZZA", "eventId": "c", "time": _time(1),
         "effects": [f"spawn:{i}" for i in ITEMS]},
    ]  # fmt: skip
    enter = {"item-1": 2, "item-2": 2, "item-3": 6}
    leave = {"item-1": 5, "item-2": 8, "item-3": 7}
    for n, item in enumerate(ITEMS):
        child_id = f"{ORDER}.{item}.3"
        pk = f"pizza#{child_id}"
        start_id = f"order.{ORDER}.v3.{n + 1}"
        data = {"parent": {"workflow": "order", "id": ORDER, "actor": item}, "seq": [3, n + 1]}
        family.starts[start_id].append(Published(0, start_id, "xstate.start", child_id, "-", 0, 0,
                                                 data))  # fmt: skip
        hist = [
            {"version": 1, "eventType": "xstate.start", "eventId": start_id, "to": "queued",
             "time": _time(1.5)},
            {"version": 2, "eventType": "xstate.send", "eventId": f"slot.{item}",
             "to": "baking.inOven", "time": _time(enter[item])},
        ]  # fmt: skip
        if item == stopped:
            hist.append({"version": 3, "eventType": "xstate.stop", "eventId": f"stop.{item}",
                         "to": "baking.inOven", "time": _time(leave[item])})  # fmt: skip
            status, parent_status = "stopped", "stopped"
        else:
            hist.append({"version": 3, "eventType": "PIZZA_BAKED", "eventId": f"baked.{item}",
                         "to": "baked", "time": _time(leave[item])})  # fmt: skip
            status, parent_status = "done", "done"
            done_id = f"pizza.{child_id}.v3.1"
            family.sent.add(done_id)
            order_hist.append({"version": len(order_hist) + 3, "eventId": done_id,
                               "eventType": f"xstate.done.actor.{item}",
                               "time": _time(leave[item] + 0.5)})  # fmt: skip
        family.histories[pk] = hist
        links = {"parent": {"workflow": "order", "id": ORDER, "actor": item}}
        children[pk] = _instance(pk, status, hist[-1]["to"], links, 3)
        children[pk].actors["status_in_parent"] = parent_status
    family.children = children
    known = {
        item: {"workflow": "pizza", "id": f"{ORDER}.{item}.3",
               "status": children[f"pizza#{ORDER}.{item}.3"].actors.pop("status_in_parent")}
        for item in ITEMS
    }  # fmt: skip
    family.histories[order_pk] = order_hist
    value = "cancelled" if stopped else "done"
    family.parents[order_pk] = _instance(order_pk, "done", value, {"children": known}, 9,
                                         pizzas=[])  # fmt: skip
    return family


def _fired(family: Family) -> set[str]:
    family.check()
    return {v.rule for v in family.checker.violations}


def test_the_intact_family_breaks_no_rule():
    assert _fired(_family()) == set()
    assert _fired(_family(stopped=None)) == set()


def test_a_second_child_for_one_start_is_a_double_start():
    family = _family()
    pk = f"pizza#{ORDER}.item-1.3"
    family.children[f"{pk}x"] = copy.deepcopy(family.children[pk])
    family.histories[f"{pk}x"] = copy.deepcopy(family.histories[pk])
    assert "a child is started at most once" in _fired(family)


def test_a_child_the_parent_never_spawned_is_a_double_start():
    family = _family()
    family.histories[f"order#{ORDER}"][0]["effects"] = ["spawn:item-1", "spawn:item-2"]
    assert _fired(family) == {"a child is started at most once"}


def test_a_completion_never_applied_is_lost():
    family = _family()
    hist = family.histories[f"order#{ORDER}"]
    hist[:] = [h for h in hist if h["eventType"] != "xstate.done.actor.item-1"]
    family.parents[f"order#{ORDER}"].actors["children"]["item-1"]["status"] = "active"
    assert _fired(family) == {"no lost completion"}


def test_a_completion_never_sent_is_lost():
    family = _family()
    family.sent.discard(f"pizza.{ORDER}.item-2.3.v3.1")
    assert _fired(family) == {"no lost completion"}


def test_a_completion_applied_twice_is_flagged():
    family = _family()
    hist = family.histories[f"order#{ORDER}"]
    twice = next(h for h in hist if h["eventType"] == "xstate.done.actor.item-1")
    hist.append({**twice, "version": 99})
    assert _fired(family) == {"no lost completion"}


def test_a_pizza_running_after_its_order_was_cancelled():
    family = _family()
    pk = f"pizza#{ORDER}.item-3.3"
    family.children[pk].snapshot["status"] = "active"
    family.parents[f"order#{ORDER}"].snapshot["context"]["pizzas"] = [
        {"itemId": "item-3", "state": "inOven"}
    ]
    assert _fired(family) == {
        "no child outlives its parent",
        "a cancelled order never ends with a running pizza",
    }


def test_three_pizzas_in_the_oven_at_once_with_two_slots():
    family = _family(stopped=None)
    family.histories[f"pizza#{ORDER}.item-3.3"][1]["time"] = _time(4)  # before item-1 left
    slots = FanOut.from_environment().oven_slots
    assert _fired(family) == {f"at most K pizzas of one order in the oven (K={slots})"}


def test_a_pizza_entering_as_another_leaves_shares_no_slot():
    family = _family(stopped=None)
    family.histories[f"pizza#{ORDER}.item-3.3"][1]["time"] = _time(5)  # item-1 left at 5
    assert _fired(family) == set()
