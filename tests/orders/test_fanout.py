"""Order chart version 3 with its pizza children, run by the in-memory ActorSystem: the
fan-out (one pizza per item, at most K in the oven), the join (delivery with every
pizza's output), a burnt pizza baked again, compensation when a pizza fails, and
CANCEL_ORDER stopping every pizza."""

from __future__ import annotations

import pytest

from chalicelib.orders.fanout import ORDER_CHART_V3, FanOut, order_machine_v3, order_workflow_v3
from chalicelib.orders.service import ORDERS
from chalicelib.orders.workflow import COMMANDS, ORDER_CHART
from chalicelib.runtime.versions import chart_hash
from chalicelib.statechart import Machine, assign
from chalicelib.statechart.system import ActorSystem
from tests.pizzas.kitchen import (
    ORDER_ID,
    bake,
    bake_everything,
    bake_id,
    bakes_sent,
    burn,
    confirmed,
    in_oven,
    machines,
    most_in_oven,
    pizzas,
)


def _delivery_sent(system) -> bool:
    return ("event", ORDER_ID, f"{ORDER_ID}/sendOrderToDelivery", "xstate.init") in system.trace


def _bakes_cancelled(system) -> bool:
    """Whether the order sent CANCEL_BAKES (the oven drops its bakes)."""
    return ("event", ORDER_ID, f"{ORDER_ID}/cancelAtOven", "xstate.init") in system.trace


def test_three_pizzas_fan_out_at_most_two_in_the_oven_and_join_for_delivery():
    system = confirmed(3)
    kids = pizzas(system)
    assert list(kids) == ["item-1", "item-2", "item-3"]
    assert kids["item-1"]["context"]["pizza"] == {
        "name": "Pizza 1", "size": "small", "toppings": ["mango"]
    }  # fmt: skip
    assert kids["item-1"]["context"]["orderId"] == ORDER_ID
    assert [kids[i]["value"] for i in kids] == [{"baking": "inOven"}] * 2 + ["queued"]
    assert bakes_sent(system) == ["item-1", "item-2"]
    assert system.root.snapshot.context["status"] == "Baking your pizzas..."

    bake(system, "item-2")  # out of order: item-2's slot goes to item-3
    assert in_oven(system) == ["item-1", "item-3"]
    assert pizzas(system)["item-3"]["value"] == {"baking": "inOven"}
    assert system.root.snapshot.matches("bakePizza") and not _delivery_sent(system)
    bake(system, "item-3", by="ana")
    bake(system, "item-1")

    assert most_in_oven(system) == 2
    assert system.root.snapshot.matches("deliverPizza.waitingForDelivery")
    assert _delivery_sent(system)
    assert {p["status"] for p in pizzas(system).values()} == {"done"}
    context = system.root.snapshot.context
    assert [p["state"] for p in context["pizzas"]] == ["baked"] * 3
    delivery = COMMANDS["orderDeliveryFromDelivery"].data(context, None)
    assert delivery["pizzas"] == [
        {"itemId": f"item-{n}", "baked": True, "by": by, "at": "2026-01-01T12:30:00Z",
         "attempts": 1}
        for n, by in ((1, "sam"), (2, "sam"), (3, "ana"))
    ]  # fmt: skip
    assert [i["itemId"] for i in delivery["items"]] == ["item-1", "item-2", "item-3"]


@pytest.mark.parametrize("count, slots", [(1, 2), (3, 1), (4, 3), (50, 2), (50, 5)])
def test_every_pizza_is_baked_with_never_more_than_k_in_the_oven(count, slots):
    system = confirmed(count, slots)
    assert len(pizzas(system)) == count
    assert len(bakes_sent(system)) == min(count, slots)
    bake_everything(system)
    assert most_in_oven(system) == min(count, slots)
    assert sorted(bakes_sent(system)) == sorted(f"item-{n}" for n in range(1, count + 1))
    assert system.root.snapshot.matches("deliverPizza")
    outputs = COMMANDS["orderDeliveryFromDelivery"].data(system.root.snapshot.context, None)
    assert [o["itemId"] for o in outputs["pizzas"]] == [f"item-{n}" for n in range(1, count + 1)]
    assert all(o["baked"] for o in outputs["pizzas"])


def test_a_burnt_pizza_is_baked_again_once_under_a_new_work_id_keeping_its_slot():
    system = confirmed(3)
    burn(system, "item-1")
    item = pizzas(system)["item-1"]
    assert item["value"] == {"baking": "inOven"} and item["context"]["attempts"] == 2
    assert item["context"]["bakeId"] == bake_id("item-1", 2)
    assert bakes_sent(system) == ["item-1", "item-2", "item-1"]  # a second BAKE_PIZZA
    assert in_oven(system) == ["item-1", "item-2"]  # item-3 still waits
    bake(system, "item-1", attempt=1)  # a late report of the first bake: not this bake
    assert pizzas(system)["item-1"]["status"] == "active"
    bake(system, "item-1", attempt=2)
    assert pizzas(system)["item-1"]["output"] == {
        "itemId": "item-1", "baked": True, "by": "sam", "at": "2026-01-01T12:30:00Z",
        "attempts": 2,
    }  # fmt: skip
    bake_everything(system)
    assert system.root.snapshot.matches("deliverPizza") and most_in_oven(system) == 2


def _actors(system) -> dict:
    """The order's pizza actors by item id (a stopped one leaves the order's children)."""
    return {item: system.actor(f"{ORDER_ID}/{item}") for item in pizzas(system)}


def test_a_second_burn_cancels_the_order_and_stops_the_other_pizzas():
    system = confirmed(3)
    kids = _actors(system)
    burn(system, "item-1")
    burn(system, "item-1", attempt=2, reason="charcoal")
    assert system.root.snapshot.value == "cancelled"
    assert system.root.status == "done"
    reason = "the pizza Pizza 1 could not be baked (charcoal)"
    assert system.root.snapshot.context["cancelReason"] == reason
    assert system.root.snapshot.context["status"] == f"Order cancelled: {reason}."
    assert [p["state"] for p in system.root.snapshot.context["pizzas"]] == [
        "failed", "stopped", "stopped"
    ]  # fmt: skip
    assert kids["item-1"].status == "done" and kids["item-1"].snapshot.output == {
        "itemId": "item-1", "baked": False, "reason": "charcoal", "attempts": 2
    }  # fmt: skip
    assert kids["item-2"].status == "stopped"  # was in the oven
    assert kids["item-3"].status == "stopped"  # was queued
    slots = [t for t in system.trace if t[0] == "event" and t[3] == "OVEN_SLOT"]
    assert [t[2] for t in slots] == [f"{ORDER_ID}/item-1", f"{ORDER_ID}/item-2"]  # none more
    assert not _delivery_sent(system) and _bakes_cancelled(system)
    system.send({"type": "PIZZA_BAKED", "data": {"bakeId": bake_id("item-2")}}, kids["item-2"])
    assert kids["item-2"].status == "stopped"  # a stopped pizza takes no more events
    assert system.root.snapshot.value == "cancelled"


def test_cancel_order_while_baking_stops_every_pizza():
    system = confirmed(3)
    kids = _actors(system)
    bake(system, "item-1")
    system.send({"type": "CANCEL_ORDER", "time": "2026-01-01T12:10:00Z"})
    assert system.root.snapshot.value == "cancelled"
    assert system.root.snapshot.context["status"] == "Order cancelled: cancelled by you."
    assert [p["state"] for p in system.root.snapshot.context["pizzas"]] == [
        "baked", "stopped", "stopped"
    ]  # fmt: skip
    statuses = {item: actor.status for item, actor in kids.items()}
    assert statuses == {"item-1": "done", "item-2": "stopped", "item-3": "stopped"}
    # stopChild took the stopped pizzas off the order's children; the baked one stays
    # listed, as XState keeps a finished child until it is stopped
    assert set(system.root.snapshot.children) == {"item-1"}
    assert not system.timers  # the stopped pizzas' oven timeouts are gone
    assert not _delivery_sent(system) and _bakes_cancelled(system)


def test_an_oven_that_never_answers_fails_the_pizza_and_cancels_the_order():
    system = confirmed(2)
    kids = _actors(system)
    system.advance(20 * 60 * 1000 - 1)
    assert system.root.snapshot.matches("bakePizza")
    system.advance(1)
    assert system.root.snapshot.value == "cancelled"
    reason = system.root.snapshot.context["cancelReason"]
    assert reason == "the pizza Pizza 1 could not be baked (the oven took too long)"
    assert _bakes_cancelled(system)
    assert kids["item-2"].status == "stopped"


def test_a_pizza_that_fails_as_an_actor_cancels_the_order():
    broken = Machine(
        {"id": "pizza", "initial": "queued",
         "states": {"queued": {"on": {"OVEN_SLOT": "x"}}, "x": {"entry": ["explode"]}}},
        # an assign runs inside the step: the step raises, so the actor fails
        actions={"explode": assign(lambda ctx, ev: {"n": 1 / 0})},
    )  # fmt: skip
    system = ActorSystem(machines(2, broken), "order", root_id=ORDER_ID)
    system.send({"type": "ADD_PIZZA", "pizza": {"name": "A", "size": "small"}})
    system.send({"type": "ADD_PIZZA", "pizza": {"name": "B", "size": "small"}})
    kids_before = len(system.trace)
    system.send({"type": "CONFIRM_PIZZA"})
    assert ("event", f"{ORDER_ID}/item-1", ORDER_ID, "xstate.error.actor.item-1") in system.trace[
        kids_before:
    ]
    # item-2 failed in the same step, its failure reaching the order after it left
    # bakePizza: noted, and the order is not failed by it (XState's rule for an
    # actor's error no state handles)
    assert ("action", ORDER_ID, "log", {"what": "pizza failed late"}) in system.trace
    assert system.root.snapshot.value == "cancelled" and system.root.status == "done"
    assert system.root.snapshot.context["pizzas"][0]["state"] == "failed"
    assert "could not be baked (it failed: " in system.root.snapshot.context["cancelReason"]


def test_k_is_a_setting_outside_the_chart(monkeypatch):
    assert chart_hash(order_machine_v3(fan_out=FanOut(oven_slots=1))) == chart_hash(
        order_machine_v3(fan_out=FanOut(oven_slots=7))
    )
    monkeypatch.setenv("ORDER_OVEN_SLOTS", "3")
    assert FanOut.from_environment() == FanOut(oven_slots=3, start_version=1)
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("ORDER_OVEN_SLOTS", bad)
        with pytest.raises(ValueError, match="ORDER_OVEN_SLOTS"):
            FanOut.from_environment()
    monkeypatch.setenv("ORDER_OVEN_SLOTS", "2")
    monkeypatch.setenv("ORDER_START_VERSION", "2")
    with pytest.raises(ValueError, match="start_on=2 is not a declared version"):
        order_workflow_v3(fan_out=FanOut.from_environment())


def test_version_3_is_declared_beside_version_1_which_new_orders_still_start_on():
    assert sorted(ORDERS.versions.by_number) == [1, 3]
    assert ORDERS.starting.number == 1
    assert ORDERS.versions.by_number[3].migration is None  # v1 orders finish on v1
    waiting = ORDERS.versions.by_number[1].machine.initial_transition().snapshot.to_dict()
    assert ORDERS.versions.upgrade(1, waiting).number == 1  # pinned: never moved to 3
    assert ORDERS.children == ("pizza",)
    assert order_workflow_v3(fan_out=FanOut(start_version=3)).starting.number == 3
    assert ORDER_CHART["states"]["compensating"]["invoke"]["src"] == "cancelPizzaAtKitchen"
    assert ORDER_CHART_V3["states"]["compensating"]["invoke"]["src"] == "cancelBakesAtOven"
    command = ORDERS.commands["cancelBakesAtOven"]
    assert (command.type, command.persistent) == ("CANCEL_BAKES", True)


def test_only_a_pizzas_late_failure_is_noted_any_other_actor_error_still_fails_the_order():
    system = confirmed(1)
    bake(system, "item-1")
    delivering = system.root.snapshot
    assert delivering.matches("deliverPizza.waitingForDelivery")
    machine = system.root.machine
    late = machine.transition(delivering, {"type": "xstate.error.actor.item-1", "error": "x"})
    assert late.handled and late.snapshot.status == "active"
    assert [e.params for e in late.effects if e.type == "log"] == [{"what": "pizza failed late"}]
    stray = machine.transition(delivering, {"type": "xstate.error.actor.nobody", "error": "x"})
    assert stray.snapshot.status == "error"  # XState's rule, unchanged for non-pizzas
