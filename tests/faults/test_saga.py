"""Retries, timeouts and compensation through the real handlers and queues.

"Nothing lost" here: the order ends in a final state whose status says why, the
kitchen holds no order it should not, and every queue is empty at the end.
"""

from __future__ import annotations

import json

import boto3

from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import Unavailable, bus, intake, sweeper, timers
from tests.shop import PIZZA, REGION


def _confirmed(shop, pizza=PIZZA):
    order_id = shop.call("POST", "/orders", body={"pizza": pizza}).json_body["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    return order_id


def _queues_empty(shop, order_id):
    """No message is left behind; timers still pending belong to states already left."""
    before = shop.stored(order_id)
    shop.fire_timers()
    assert shop.stored(order_id) == before
    for queue in ("KitchenQueue", "DeliveryQueue", "OrderEventsQueue", "TimersQueue"):
        assert shop.waiting(queue) == [], queue


def test_no_pizza_in_time_escalates_then_compensates_and_the_kitchen_drops_it(shop, caplog):
    order_id = _confirmed(shop)
    shop.deliver("KitchenQueue")
    assert [w["orderId"] for w in shop.call("GET", "/kitchen/orders", "staff").json_body["orders"]]
    assert shop.fire_timers() == 1
    assert shop.view(order_id)["state"] == {"bakePizza": "runningLate"}
    assert any('"kind": "escalation"' in r.getMessage() for r in caplog.records)
    assert shop.fire_timers() == 1
    shop.settle()
    view = shop.view(order_id)
    assert view["state"] == "cancelled"
    assert view["status"] == "Order cancelled: the kitchen took too long."
    assert shop.call("GET", "/kitchen/orders", "staff").json_body["orders"] == []
    events = [h["eventType"] for h in shop.history(order_id)]
    assert "xstate.after.kitchenTimeout.order.bakePizza.waitingForPizzaToBeBaked" in events
    assert events[-1] == "xstate.done.actor.cancelAtKitchen"
    _queues_empty(shop, order_id)


def test_timers_that_fire_after_their_state_was_left_change_nothing(shop):
    order_id = _confirmed(shop)
    shop.deliver("KitchenQueue")
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    shop.deliver("OrderEventsQueue")
    shop.deliver("DeliveryQueue")
    shop.call("POST", "/delivery/orders/next/delivered", "staff")
    shop.deliver("OrderEventsQueue")
    before = shop.stored(order_id)
    assert shop.view(order_id)["state"] == "done"
    assert shop.fire_timers() == 2  # kitchen and delivery timeouts, both states long left
    assert shop.stored(order_id) == before


def test_early_timers_are_sent_again_for_the_rest_of_their_delay(shop, monkeypatch):
    monkeypatch.setattr(timers, "MAX_SQS_DELAY_SECONDS", 900)
    body = {
        "workflow": "order", "instance": "x", "scheduleId": "s", "token": "t",
        "event": {"type": "E"}, "dueAt": "2999-01-01T00:00:00.000Z",
    }  # fmt: skip
    assert intake.fire_timer(WORKFLOWS, json.dumps(body)) is None
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=shop.made.queue_urls["TimersQueue"],
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_unreachable_kitchen_is_retried_with_backoff_then_compensated(shop, monkeypatch):
    def down(event):
        raise Unavailable("SNS is down")

    real_publish = bus.publish
    monkeypatch.setattr(bus, "publish", down)
    order_id = _confirmed(shop)
    delays = []
    for attempt in (1, 2, 3):
        for _ in range(2):  # two more publish attempts by the sweeper, then the invoke fails
            sweeper.sweep(WORKFLOWS, grace_seconds=0)
        view = shop.view(order_id)
        if attempt < 3:
            assert view["state"] == {"bakePizza": "errorInKitchen"}
            [timer] = shop.waiting("TimersQueue")
            delays.append(timers.due_in(timer))
            assert shop.fire_timers() == 1
        else:
            assert view["state"] == "compensating"
    assert 1 < delays[0] < 2.5 and 3 < delays[1] < 4.5  # 2 s, then 4 s
    monkeypatch.setattr(bus, "publish", real_publish)
    sweeper.sweep(WORKFLOWS, grace_seconds=0)
    shop.settle()
    view = shop.view(order_id)
    assert view["state"] == "cancelled"
    assert view["status"] == "Order cancelled: the kitchen could not be reached."
    assert [m["type"] for m in shop.waiting("KitchenQueue")] == []
    sources = [h["source"] for h in shop.history(order_id)]
    assert sources.count("timer") == 2


def test_a_kitchen_that_lacks_a_topping_rejects_and_the_order_is_compensated(shop, monkeypatch):
    monkeypatch.setenv("KITCHEN_OUT_OF_STOCK", "mango")
    order_id = _confirmed(shop)
    shop.settle()
    view = shop.view(order_id)
    assert view["state"] == "cancelled"
    assert view["status"] == "Order cancelled: the kitchen has no mango."
    assert view["kitchen"]["reason"] == "the kitchen has no mango"
    _queues_empty(shop, order_id)


def test_cancel_while_baking_tells_the_kitchen_to_drop_it(shop):
    order_id = _confirmed(shop)
    shop.deliver("KitchenQueue")
    answer = shop.call("POST", f"/orders/{order_id}/cancel").json_body
    assert answer["state"] == "compensating"  # what CANCEL_ORDER committed
    view = shop.view(order_id)
    assert view["state"] == "cancelled"
    assert view["status"] == "Order cancelled: cancelled by you."
    assert [m["type"] for m in shop.waiting("KitchenQueue")] == ["CANCEL_PIZZA"]
    shop.deliver("KitchenQueue")
    assert shop.call("GET", "/kitchen/orders", "staff").json_body["orders"] == []


def test_cancel_once_out_for_delivery_is_refused(shop):
    order_id = _confirmed(shop)
    shop.deliver("KitchenQueue")
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    shop.deliver("OrderEventsQueue")
    before = shop.stored(order_id)
    response = shop.call("POST", f"/orders/{order_id}/cancel")
    assert response.status_code == 409
    assert response.json_body["nextEvents"] == []
    assert shop.stored(order_id) == before
