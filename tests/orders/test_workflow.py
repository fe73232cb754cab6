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


def _baking(machine):
    step = _send(machine, _ordering(machine), "CONFIRM_PIZZA")
    return step.snapshot


def _kinds(step, kind):
    return [e for e in step.effects if e.kind == kind]


def test_sending_to_the_kitchen_is_retried_with_exponential_backoff(machine):
    snapshot = _baking(machine)
    delays = []
    for attempt in (1, 2):
        step = _send(machine, snapshot, "xstate.error.actor.sendOrderToKitchen", error="down")
        assert step.snapshot.value == {"bakePizza": "errorInKitchen"}
        assert step.snapshot.context["kitchenAttempts"] == attempt
        [schedule] = _kinds(step, "schedule")
        delays.append(schedule.delay_ms)
        step = machine.transition(step.snapshot, schedule.event)
        assert step.snapshot.value == {"bakePizza": "sendingOrderToKitchen"}
        assert [e.type for e in _kinds(step, "invoke")] == ["orderPizzaFromKitchen"]
        snapshot = step.snapshot
    assert delays == [2000, 4000]


def test_after_the_last_attempt_the_order_is_compensated(machine):
    snapshot = _baking(machine)
    for _ in range(2):
        step = _send(machine, snapshot, "xstate.error.actor.sendOrderToKitchen", error="down")
        snapshot = machine.transition(step.snapshot, _kinds(step, "schedule")[0].event).snapshot
    step = _send(machine, snapshot, "xstate.error.actor.sendOrderToKitchen", error="down")
    assert step.snapshot.value == "compensating"
    assert [e.type for e in _kinds(step, "invoke")] == ["cancelPizzaAtKitchen"]
    # the retry timer is scheduled on entry and cancelled at once by the eventless exit
    [retry] = _kinds(step, "schedule")
    assert [e.id for e in _kinds(step, "cancel_schedule")] == [retry.id]
    step = _send(machine, step.snapshot, "xstate.done.actor.cancelAtKitchen")
    assert step.snapshot.value == "cancelled"
    assert step.snapshot.status == "done"
    assert step.snapshot.context["status"] == "Order cancelled: the kitchen could not be reached."


def test_no_pizza_in_time_escalates_then_compensates(machine):
    step = _send(machine, _baking(machine), "xstate.done.actor.sendOrderToKitchen")
    [timeout] = _kinds(step, "schedule")
    assert timeout.delay_ms == 15 * 60 * 1000
    step = machine.transition(step.snapshot, timeout.event)
    assert step.snapshot.value == {"bakePizza": "runningLate"}
    assert [e.type for e in _kinds(step, "action")] == ["escalate"]
    [give_up] = _kinds(step, "schedule")
    step = machine.transition(step.snapshot, give_up.event)
    assert step.snapshot.value == "compensating"
    assert step.snapshot.context["cancelReason"] == "the kitchen took too long"


def test_a_timer_for_a_state_already_left_is_ignored(machine):
    step = _send(machine, _baking(machine), "xstate.done.actor.sendOrderToKitchen")
    [timeout] = _kinds(step, "schedule")
    ready = _send(machine, step.snapshot, "PIZZA_READY", data={"station": "kitchen"})
    assert ("cancel_schedule", timeout.id) in [(e.kind, e.id) for e in ready.effects]
    late = machine.transition(ready.snapshot, timeout.event)
    assert late.handled is False


def test_kitchen_rejection_compensates_with_its_reason(machine):
    step = _send(machine, _baking(machine), "xstate.done.actor.sendOrderToKitchen")
    report = {"station": "kitchen", "reason": "the kitchen has no kiwi"}
    step = _send(machine, step.snapshot, "PIZZA_REJECTED", data=report)
    step = _send(machine, step.snapshot, "xstate.done.actor.cancelAtKitchen")
    assert step.snapshot.context["status"] == "Order cancelled: the kitchen has no kiwi."


def test_cancel_while_baking_tells_the_kitchen_and_once_out_for_delivery_is_refused(machine):
    step = _send(machine, _baking(machine), "CANCEL_ORDER")
    assert step.snapshot.value == "compensating"
    assert [e.type for e in _kinds(step, "invoke")] == ["cancelPizzaAtKitchen"]
    delivering = _send(machine, _baking(machine), "xstate.done.actor.sendOrderToKitchen").snapshot
    delivering = _send(machine, delivering, "PIZZA_READY", data={"station": "kitchen"}).snapshot
    assert _send(machine, delivering, "CANCEL_ORDER").handled is False
    assert "CANCEL_ORDER" not in delivering.next_events


def test_timing_comes_from_the_environment(monkeypatch):
    from chalicelib.orders.workflow import Timing

    monkeypatch.setenv("ORDER_RETRY_SECONDS", "0.5")
    monkeypatch.setenv("ORDER_KITCHEN_TIMEOUT_SECONDS", "7")
    delays = Timing.from_environment().delays()
    assert delays["kitchenTimeout"] == 7000
    assert delays["kitchenRetry"]({"kitchenAttempts": 3}, {}) == 2000


def test_cancel_while_ordering_ends_the_order(machine):
    step = _send(machine, _ordering(machine), "CANCEL_ORDER")
    assert step.snapshot.value == "cancelled"
    assert step.snapshot.status == "done"


def test_pizza_ready_is_not_accepted_before_confirmation(machine):
    assert _send(machine, _ordering(machine), "PIZZA_READY").handled is False
