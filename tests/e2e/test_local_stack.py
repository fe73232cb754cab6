"""The local stack as a user meets it: real HTTP, a real websocket, orders to the end."""

from __future__ import annotations

import json

from websockets.sync.client import connect

PIZZA = {"name": "Papaya party", "size": "small", "toppings": ["papaya", "lychee"]}


def _state(view):
    value = view["state"]
    return value if isinstance(value, str) else ".".join([*value, *value.values()])


def test_auto_mode_order_reaches_done_over_http_and_websocket(auto_stack):
    assert any("Tropical Pizzas is running" in line for line in auto_stack.output)
    status, order = auto_stack.call("POST", "/orders", body={"pizza": PIZZA})
    assert status == 201
    order_id = order["orderId"]
    seen = []
    url = f"{auto_stack.ws}/?orderId={order_id}&token={auto_stack.customer}"
    with connect(url, open_timeout=10) as socket:
        status, _ = auto_stack.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
        assert status == 200
        status, _ = auto_stack.call("POST", f"/orders/{order_id}/confirm")
        assert status == 200
        while True:
            view = json.loads(socket.recv(timeout=20))
            seen.append(_state(view))
            if view["done"]:
                break
        socket.send("{}")  # any message is answered with the current view
        assert json.loads(socket.recv(timeout=10))["state"] == "done"
    assert seen == [
        "orderPizza",
        "bakePizza.sendingOrderToKitchen",
        "bakePizza.waitingForPizzaToBeBaked",
        "deliverPizza.sendingOrderToDelivery",
        "deliverPizza.waitingForDelivery",
        "done",
    ]
    status, history = auto_stack.call("GET", f"/orders/{order_id}/history")
    assert status == 200
    events = [h["eventType"] for h in history["transitions"]]
    assert events == [
        "ADD_PIZZA", "ADD_PIZZA", "CONFIRM_PIZZA", "xstate.done.actor.sendOrderToKitchen",
        "PIZZA_READY", "xstate.done.actor.sendOrderToDelivery", "PIZZA_DELIVERED",
    ]  # fmt: skip
    assert [h["version"] for h in history["transitions"]] == list(range(1, 8))


def test_websocket_refuses_a_bad_token(auto_stack):
    _, order = auto_stack.call("POST", "/orders", body={"pizza": PIZZA})
    try:
        with connect(f"{auto_stack.ws}/?orderId={order['orderId']}&token=forged", open_timeout=5):
            raise AssertionError("connected with a forged token")
    except Exception as refused:  # noqa: BLE001 - websockets raises InvalidStatus
        assert "401" in str(refused)


def test_manual_mode_moves_on_through_the_staff_endpoints(manual_stack):
    stack = manual_stack
    _, order = stack.call("POST", "/orders", body={"pizza": PIZZA})
    order_id = order["orderId"]
    stack.call("POST", f"/orders/{order_id}/confirm")
    held = stack.wait_for(
        lambda: [w for w in stack.call("GET", "/kitchen/orders", stack.staff)[1]["orders"]
                 if w["orderId"] == order_id],
        what="the kitchen to hold the order",
    )  # fmt: skip
    assert held[0]["items"][0]["name"] == "Papaya party"
    assert stack.call("GET", "/kitchen/orders")[0] == 403
    assert stack.call("POST", f"/kitchen/orders/{order_id}/ready")[0] == 403
    status, _ = stack.call("POST", f"/kitchen/orders/{order_id}/ready", stack.staff)
    assert status == 200
    stack.wait_for(
        lambda: (
            stack.call("GET", f"/orders/{order_id}")[1]["state"]
            == {"deliverPizza": "waitingForDelivery"}
        ),
        what="the order to go out for delivery",
    )
    stack.wait_for(
        lambda: stack.call("GET", "/delivery/orders", stack.staff)[1]["orders"],
        what="delivery to hold the order",
    )
    status, _ = stack.call("POST", "/delivery/orders/next/delivered", stack.staff)
    assert status == 200
    final = stack.wait_for(
        lambda: (v := stack.call("GET", f"/orders/{order_id}")[1])["done"] and v,
        what="the order to be delivered",
    )
    assert final["state"] == "done"
    assert final["delivery"]["by"] == "e2e-staff"


def test_external_mode_runs_against_an_endpoint_it_did_not_start(external_stack):
    import boto3

    stack, endpoint = external_stack
    _, order = stack.call("POST", "/orders", body={"pizza": PIZZA})
    stack.call("POST", f"/orders/{order['orderId']}/confirm")
    final = stack.wait_for(
        lambda: (v := stack.call("GET", f"/orders/{order['orderId']}")[1])["done"] and v,
        what="the order to be delivered",
    )
    assert final["state"] == "done"
    table = boto3.client(
        "dynamodb", endpoint_url=endpoint.url, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    item = table.get_item(
        TableName="tropical-pizzas",
        Key={"pk": {"S": f"order#{order['orderId']}"}, "sk": {"S": "instance"}},
    )
    assert item["Item"]["state"]["S"] == "done"
