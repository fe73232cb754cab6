"""Whole orders through the real Chalice handlers on moto: HTTP, SQS, SNS, websockets."""

from __future__ import annotations

import json

import pytest

from chalicelib.runtime import Unavailable, bus, connections, store, sweeper
from tests.shop import PIZZA


def _to_done(shop, order_id):
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    shop.deliver("DeliveryQueue")
    assert shop.call("POST", "/delivery/orders/next/delivered", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")


def test_whole_order_from_post_to_done_through_kitchen_and_delivery(shop):
    order = shop.new_order()
    order_id = order["orderId"]
    assert order["state"] == "orderPizza"
    assert order["status"] == "Oh, just ordering some pizza..."
    assert order["nextEvents"] == ["ADD_PIZZA", "CANCEL_ORDER", "CONFIRM_PIZZA", "REMOVE_PIZZA"]
    added = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}).json_body
    assert [i["itemId"] for i in added["items"]] == ["item-1", "item-2"]

    confirmed = shop.call("POST", f"/orders/{order_id}/confirm").json_body
    # the answer is what CONFIRM committed; the kitchen send completes right after it
    assert confirmed["state"] == {"bakePizza": "sendingOrderToKitchen"}
    assert confirmed["version"] == 3
    view = shop.call("GET", f"/orders/{order_id}").json_body
    assert view["state"] == {"bakePizza": "waitingForPizzaToBeBaked"}
    kitchen_messages = shop.waiting("KitchenQueue")
    assert [m["type"] for m in kitchen_messages] == ["MAKE_PIZZA"]
    assert kitchen_messages[0]["subject"] == order_id
    assert kitchen_messages[0]["specversion"] == "1.0"
    assert len(kitchen_messages[0]["data"]["items"]) == 2
    assert shop.waiting("DeliveryQueue") == []
    assert shop.waiting("OrderEventsQueue") == []

    assert shop.deliver("KitchenQueue") == (1, 0)
    held = shop.call("GET", "/kitchen/orders", "staff").json_body["orders"]
    assert [w["orderId"] for w in held] == [order_id]
    assert shop.call("POST", "/kitchen/orders/next/ready", "staff").status_code == 200
    assert [m["type"] for m in shop.waiting("OrderEventsQueue")] == ["PIZZA_READY"]
    assert shop.waiting("KitchenQueue") == []
    shop.deliver("OrderEventsQueue")
    view = shop.call("GET", f"/orders/{order_id}").json_body
    assert view["state"] == {"deliverPizza": "waitingForDelivery"}
    assert [m["type"] for m in shop.waiting("DeliveryQueue")] == ["DELIVER_PIZZA"]

    shop.deliver("DeliveryQueue")
    shop.call("POST", f"/delivery/orders/{order_id}/delivered", "staff")
    shop.deliver("OrderEventsQueue")
    done = shop.call("GET", f"/orders/{order_id}").json_body
    assert done["state"] == "done"
    assert done["done"] is True
    assert done["status"] == "Enjoy your tropical pizza!"
    assert done["delivery"]["by"] == "sam"

    history = shop.call("GET", f"/orders/{order_id}/history").json_body["transitions"]
    assert [h["eventType"] for h in history] == [
        "ADD_PIZZA", "ADD_PIZZA", "CONFIRM_PIZZA", "xstate.done.actor.sendOrderToKitchen",
        "PIZZA_READY", "xstate.done.actor.sendOrderToDelivery", "PIZZA_DELIVERED",
    ]  # fmt: skip
    assert [h["version"] for h in history] == list(range(1, 8))
    assert [h["source"] for h in history][4] == "bus"
    assert history[-1]["from"] == "deliverPizza.waitingForDelivery" and history[-1]["to"] == "done"
    assert "ob_" not in json.dumps(list(shop.stored(order_id)))
    for queue in ("KitchenQueue", "DeliveryQueue", "OrderEventsQueue"):
        assert shop.waiting(queue) == []


def test_diagram_marks_the_current_state(shop):
    order = shop.new_order()
    body = shop.call("GET", f"/orders/{order['orderId']}/diagram").json_body
    assert body["state"] == "orderPizza"
    assert "class s_order_orderPizza active" in body["mermaid"]


def test_remove_pizza_by_item_id(shop):
    order_id = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    view = shop.call("DELETE", f"/orders/{order_id}/pizzas/item-1").json_body
    assert [i["itemId"] for i in view["items"]] == ["item-2"]


def test_cancel_while_ordering(shop):
    order_id = shop.new_order()["orderId"]
    view = shop.call("POST", f"/orders/{order_id}/cancel", body={"reason": "changed my mind"})
    assert view.json_body["state"] == "cancelled"
    assert view.json_body["nextEvents"] == []


def test_idempotency_key_gives_the_first_answer(shop):
    headers = {"Idempotency-Key": "order-123"}
    first = shop.call("POST", "/orders", body={"pizza": PIZZA}, headers=headers)
    again = shop.call("POST", "/orders", body={"pizza": PIZZA}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json_body["orderId"] == again.json_body["orderId"]
    assert len(again.json_body["items"]) == 1
    order_id = first.json_body["orderId"]
    add = {"Idempotency-Key": "add-1"}
    one = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}, headers=add)
    two = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}, headers=add)
    assert one.json_body == two.json_body
    assert len(two.json_body["items"]) == 2
    other = shop.call("POST", "/orders", "other", body={"pizza": PIZZA}, headers=headers)
    assert other.json_body["orderId"] != order_id


def test_an_idempotency_key_is_honoured_after_many_other_events(shop):
    """Reproduced over HTTP: after 80 other events a retried POST /orders/{id}/pizzas with
    the same Idempotency-Key added a second pizza (only the last 64 ids were kept)."""
    order_id = shop.new_order()["orderId"]
    add = {"Idempotency-Key": "add-early"}
    first = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}, headers=add)
    for _ in range(40):
        shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
        items = shop.view(order_id)["items"]
        shop.call("DELETE", f"/orders/{order_id}/pizzas/{items[-1]['itemId']}")
    again = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}, headers=add)
    assert again.status_code == first.status_code == 200
    assert again.json_body == first.json_body  # the first answer, not the current view
    assert len(shop.view(order_id)["items"]) == 2
    assert shop.view(order_id)["version"] == 82


def test_an_idempotency_key_reused_for_another_request_is_422_and_changes_nothing(shop):
    order_id = shop.new_order()["orderId"]
    key = {"Idempotency-Key": "mine-1"}
    assert (
        shop.call(
            "POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}, headers=key
        ).status_code
        == 200
    )
    before = shop.stored(order_id)
    other_pizza = {**PIZZA, "name": "Something else"}
    for method, path, body in [
        ("POST", f"/orders/{order_id}/pizzas", {"pizza": other_pizza}),
        ("POST", f"/orders/{order_id}/confirm", None),
        ("POST", "/orders", {"pizza": PIZZA}),
    ]:
        refused = shop.call(method, path, body=body, headers=key)
        assert refused.status_code == 422, (path, refused.json_body)
        assert refused.json_body["error"] == "IdempotencyKeyReused"
        assert "different request" in refused.json_body["message"]
    assert shop.stored(order_id) == before


def test_duplicate_and_late_bus_events_change_nothing(shop):
    order_id = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{order_id}/confirm")
    shop.deliver("KitchenQueue")
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    [ready] = shop.waiting("OrderEventsQueue")
    bus.publish(ready)  # SNS delivers the same event twice
    assert shop.deliver("OrderEventsQueue") == (2, 0)
    history = shop.call("GET", f"/orders/{order_id}/history").json_body["transitions"]
    assert [h["eventType"] for h in history].count("PIZZA_READY") == 1
    before = shop.stored(order_id)
    late = {**ready, "id": "kitchen.late-copy"}
    bus.publish(late)  # a stale copy with another id: not allowed in this state, acknowledged
    assert shop.deliver("OrderEventsQueue") == (1, 0)
    assert shop.stored(order_id) == before


def test_one_bad_record_does_not_fail_its_batch(shop):
    order_id = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{order_id}/confirm")
    shop.deliver("KitchenQueue")
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    shop.sqs.send_message(QueueUrl=shop.made.queue_urls["OrderEventsQueue"], MessageBody="{oops")
    handled, failed = shop.deliver_batch("OrderEventsQueue")
    assert (handled, failed) == (1, 1)
    view = shop.call("GET", f"/orders/{order_id}").json_body
    assert view["state"] == {"deliverPizza": "waitingForDelivery"}


def test_outbox_survives_a_failed_publish_and_the_sweeper_sends_it(shop, monkeypatch):
    order_id = shop.new_order()["orderId"]
    real_publish = bus.publish

    def broken(event):
        raise Unavailable("SNS is down")

    monkeypatch.setattr(bus, "publish", broken)
    view = shop.call("POST", f"/orders/{order_id}/confirm").json_body
    assert view["state"] == {"bakePizza": "sendingOrderToKitchen"}
    assert shop.waiting("KitchenQueue") == []
    stored = shop.stored(order_id)
    assert [k for k in stored if k.startswith("ob_")]
    assert stored["pendingShard"]["S"] == store.shard(f"order#{order_id}", "outbox", 32)

    monkeypatch.setattr(bus, "publish", real_publish)
    assert sweeper.sweep({"order": _orders()}, grace_seconds=0) == 1
    assert [m["type"] for m in shop.waiting("KitchenQueue")] == ["MAKE_PIZZA"]
    view = shop.call("GET", f"/orders/{order_id}").json_body
    assert view["state"] == {"bakePizza": "waitingForPizzaToBeBaked"}
    stored = shop.stored(order_id)
    assert not [k for k in stored if k.startswith("ob_")]
    assert "pendingShard" not in stored
    assert sweeper.sweep({"order": _orders()}, grace_seconds=0) == 0


def _orders():
    from chalicelib.orders.service import ORDERS

    return ORDERS


def test_websocket_follower_receives_every_state_change(shop):
    order_id = shop.new_order()["orderId"]
    connected = shop.ws("connect", "conn-1", {"orderId": order_id, "token": shop.customer})
    assert connected["statusCode"] == 200
    _to_done(shop, order_id)
    states = [view["state"] for view in shop.sender.sent["conn-1"]]
    assert states == [
        {"bakePizza": "sendingOrderToKitchen"},
        {"bakePizza": "waitingForPizzaToBeBaked"},
        {"deliverPizza": "sendingOrderToDelivery"},
        {"deliverPizza": "waitingForDelivery"},
        "done",
    ]
    assert shop.ws("message", "conn-1")["statusCode"] == 200
    assert shop.sender.sent["conn-1"][-1]["state"] == "done"


def test_gone_connections_are_dropped_and_disconnect_removes(shop):
    order_id = shop.new_order()["orderId"]
    pk = f"order#{order_id}"
    for conn in ("conn-a", "conn-b"):
        shop.ws("connect", conn, {"orderId": order_id, "token": shop.customer})
    assert sorted(connections.following(pk)) == ["conn-a", "conn-b"]
    assert shop.stored(order_id)["watchers"]["N"] == "2"
    shop.sender.gone.add("conn-a")
    shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert connections.following(pk) == ["conn-b"]
    assert connections.target("conn-a") is None
    shop.ws("disconnect", "conn-b")
    assert connections.following(pk) == []
    assert shop.stored(order_id)["watchers"]["N"] == "0"
    shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert len(shop.sender.sent["conn-b"]) == 1


def test_connections_are_records_of_their_own_capped_per_order(shop, monkeypatch):
    """Connection ids were kept on the order item without a cap: enough followers pushed it
    past DynamoDB's 400 KB and every event then failed with a storage error."""
    from chalicelib.runtime import clients

    monkeypatch.setenv("MAX_CONNECTIONS_PER_INSTANCE", "5")
    clients.reset()
    order_id = shop.new_order()["orderId"]
    size_before = len(json.dumps(shop.stored(order_id)))
    for n in range(5):
        query = {"orderId": order_id, "token": shop.customer}
        assert shop.ws("connect", f"conn-{n:040d}", query)["statusCode"] == 200
    refused = shop.ws("connect", "one-too-many", {"orderId": order_id, "token": shop.customer})
    assert refused["statusCode"] == 409
    assert "already has 5 live connections" in json.loads(refused["body"])["message"]
    assert connections.target("one-too-many") is None
    # the order item holds a count, not the ids
    assert len(json.dumps(shop.stored(order_id))) - size_before < 40
    assert shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}).status_code == 200
    assert all(len(shop.sender.sent[f"conn-{n:040d}"]) == 1 for n in range(5))


def test_a_failing_connection_clean_up_does_not_fail_the_committed_request(shop, monkeypatch):
    """ADD_PIZZA answered 503 although the pizza was stored, so the retry the README
    prescribes added a second pizza."""
    order_id = shop.new_order()["orderId"]
    shop.ws("connect", "conn-gone", {"orderId": order_id, "token": shop.customer})
    shop.sender.gone.add("conn-gone")

    def broken(*args, **kwargs):
        raise Unavailable("storage error: ThrottlingException")

    monkeypatch.setattr(connections, "remove", broken)
    response = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert response.status_code == 200
    assert len(response.json_body["items"]) == 2
    assert len(shop.view(order_id)["items"]) == 2


@pytest.mark.parametrize(
    "query, status",
    [
        ({}, 401),
        ({"token": "nope"}, 401),
        ({"token": "customer"}, 404),
        ({"token": "other", "order": True}, 404),
        ({"token": "staff", "order": True}, 200),
    ],
)
def test_websocket_connect_is_authorised_like_http(shop, query, status):
    order_id = shop.new_order()["orderId"]
    params = {}
    if "token" in query:
        params["token"] = getattr(shop, query["token"], query["token"])
    if query.get("order"):
        params["orderId"] = order_id
    assert shop.ws("connect", "conn-x", params)["statusCode"] == status


def test_an_idempotency_key_of_a_new_order_is_422_on_another_route(shop):
    key = {"Idempotency-Key": "k-1"}
    order_id = shop.call("POST", "/orders", body={"pizza": PIZZA}, headers=key).json_body["orderId"]
    reused = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}, headers=key)
    assert reused.status_code == 422
    assert len(shop.view(order_id)["items"]) == 1


def test_idempotency_keys_of_two_callers_never_collide(shop):
    """Keys were scoped as client.<user>.<key>: user "john" with key "smith.k1" took the
    record of user "john.smith" with key "k1"."""
    from chalicelib.runtime import auth
    from tests.shop import SECRET

    john = auth.issue(SECRET, "john")
    john_smith = auth.issue(SECRET, "john.smith")
    first = shop.call("POST", "/orders", john, {"pizza": PIZZA}, {"Idempotency-Key": "smith.k1"})
    second = shop.call("POST", "/orders", john_smith, {"pizza": PIZZA}, {"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json_body["orderId"] != second.json_body["orderId"]


def test_a_websocket_follows_any_registered_workflow_by_name(shop):
    order_id = shop.new_order()["orderId"]
    named = {"workflow": "order", "id": order_id, "token": shop.customer}
    assert shop.ws("connect", "conn-named", named)["statusCode"] == 200
    unknown = shop.ws("connect", "conn-x", {**named, "workflow": "invoice"})
    assert unknown["statusCode"] == 404
    assert "workflows: complaint, order" in json.loads(unknown["body"])["message"]
    no_complaint = shop.ws("connect", "conn-y", {**named, "workflow": "complaint"})
    assert no_complaint["statusCode"] == 404  # a known workflow, no such instance
    shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert [v["version"] for v in shop.sender.sent["conn-named"]] == [2]
