"""The order chart on its own: the happy path, guards, failures and cancellation."""

from __future__ import annotations

import pytest

from chalicelib.orders.workflow import MAX_ITEMS, order_machine

PIZZA = {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "mango"]}


@pytest.fixture(scope="module")
def machine():
    return order_machine()


def _send(machine, snapshot, type_, **payload):
    return machine.transition(snapshot, {"type": type_, **payload})


def _ordering(machine, pizzas=1):
    snapshot = machine.initial_transition(context={"orderId": "o-1", "customerId": "c-1"}).snapshot
    for _ in range(pizzas):
        snapshot = _send(machine, snapshot, "ADD_PIZZA", pizza=PIZZA, time="t1").snapshot
    return snapshot


def test_new_order_waits_for_pizzas_with_its_status_message(machine):
    snapshot = machine.initial_transition().snapshot
    assert snapshot.value == "orderPizza"
    assert snapshot.context["status"] == "Oh, just ordering some pizza..."
    assert snapshot.next_events == ["ADD_PIZZA", "CANCEL_ORDER", "CONFIRM_PIZZA", "REMOVE_PIZZA"]


def test_items_get_their_own_ids_and_can_be_removed(machine):
    snapshot = _ordering(machine, pizzas=2)
    assert [i["itemId"] for i in snapshot.context["items"]] == ["item-1", "item-2"]
    step = _send(machine, snapshot, "REMOVE_PIZZA", itemId="item-1")
    assert [i["itemId"] for i in step.snapshot.context["items"]] == ["item-2"]
    assert _send(machine, step.snapshot, "REMOVE_PIZZA", itemId="item-1").handled is False


def test_confirm_needs_at_least_one_pizza(machine):
    empty = machine.initial_transition().snapshot
    assert _send(machine, empty, "CONFIRM_PIZZA").handled is False


def test_an_order_holds_at_most_fifty_items(machine):
    full = _ordering(machine, pizzas=MAX_ITEMS)
    assert len(full.context["items"]) == MAX_ITEMS
    assert _send(machine, full, "ADD_PIZZA", pizza=PIZZA).handled is False


def test_happy_path_sends_to_kitchen_then_delivery_then_done(machine):
    step = _send(machine, _ordering(machine), "CONFIRM_PIZZA")
    assert step.snapshot.value == {"bakePizza": "sendingOrderToKitchen"}
    assert [(e.kind, e.type) for e in step.effects if e.kind == "invoke"] == [
        ("invoke", "orderPizzaFromKitchen")
    ]
    step = _send(machine, step.snapshot, "xstate.done.actor.sendOrderToKitchen", output={"ok": 1})
    assert step.snapshot.value == {"bakePizza": "waitingForPizzaToBeBaked"}
    assert step.snapshot.context["status"] == "Waiting for the pizza to be baked..."
    step = _send(machine, step.snapshot, "PIZZA_READY", data={"oven": 2})
    assert step.snapshot.value == {"deliverPizza": "sendingOrderToDelivery"}
    assert step.snapshot.context["kitchen"] == {"oven": 2}
    step = _send(machine, step.snapshot, "xstate.done.actor.sendOrderToDelivery")
    step = _send(machine, step.snapshot, "PIZZA_DELIVERED", data={"courier": "Ana"})
    assert step.snapshot.value == "done"
    assert step.snapshot.status == "done"
    assert step.snapshot.context["status"] == "Enjoy your tropical pizza!"


def test_failure_to_reach_the_kitchen_is_its_own_state(machine):
    step = _send(machine, _ordering(machine), "CONFIRM_PIZZA")
    step = _send(machine, step.snapshot, "xstate.error.actor.sendOrderToKitchen", error="down")
    assert step.snapshot.value == {"bakePizza": "errorInKitchen"}
    assert step.snapshot.context["kitchen"] == "down"
    assert step.snapshot.status == "active"


def test_cancel_while_ordering_ends_the_order(machine):
    step = _send(machine, _ordering(machine), "CANCEL_ORDER")
    assert step.snapshot.value == "cancelled"
    assert step.snapshot.status == "done"


def test_pizza_ready_is_not_accepted_before_confirmation(machine):
    assert _send(machine, _ordering(machine), "PIZZA_READY").handled is False
