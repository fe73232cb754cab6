"""Child workflows as a user meets them on the local stack (order chart version 3, as
`make run` starts it): real HTTP, a real websocket, the embedded AWS's SNS and SQS between
an order and its pizzas."""

from __future__ import annotations

import json
import time

from websockets.sync.client import connect

PIZZA = {"name": "Papaya party", "size": "small", "toppings": ["papaya", "lychee"]}


def _order(stack, pizzas: int) -> str:
    status, order = stack.call("POST", "/orders", body={"pizza": PIZZA})
    assert status == 201
    for _ in range(pizzas - 1):
        assert (
            stack.call("POST", f"/orders/{order['orderId']}/pizzas", body={"pizza": PIZZA})[0]
            == 200
        )
    return order["orderId"]


def _views(socket, until) -> list[dict]:
    seen = []
    while True:
        view = json.loads(socket.recv(timeout=30))
        seen.append(view)
        if until(view):
            return seen


def test_three_pizzas_fan_out_at_most_two_in_the_oven_and_join_before_delivery(fanout_stack):
    order_id = _order(fanout_stack, 3)
    url = f"{fanout_stack.ws}/?orderId={order_id}&token={fanout_stack.customer}"
    with connect(url, open_timeout=10) as socket:
        assert fanout_stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200
        seen = _views(socket, lambda view: view["done"])
    assert seen[-1]["state"] == "done"
    in_oven = [
        sum("inOven" in (c.get("value") or "") and c["status"] == "active"
            for c in view.get("children", []))
        for view in seen
    ]  # fmt: skip
    assert max(in_oven) == 2  # the pushes saw two pizzas bake at once, never three
    baked_before = [
        v for v in seen if isinstance(v["state"], dict) and "deliverPizza" in v["state"]
    ]
    assert all(c["status"] == "done" for c in baked_before[0]["children"])  # joined first
    status, final = fanout_stack.call("GET", f"/orders/{order_id}")
    assert status == 200
    assert sorted(c["actor"] for c in final["children"]) == ["item-1", "item-2", "item-3"]
    assert {(c["workflow"], c["value"], c["status"]) for c in final["children"]} == {
        ("pizza", "baked", "done")
    }
    child = final["children"][0]["id"]
    status, pizza = fanout_stack.call(
        "GET", f"/workflows/pizza/instances/{child}", token=fanout_stack.staff
    )
    assert status == 200 and pizza["actors"]["parent"]["id"] == order_id


def test_a_cancelled_order_stops_its_pizzas(fanout_stack):
    order_id = _order(fanout_stack, 3)
    url = f"{fanout_stack.ws}/?orderId={order_id}&token={fanout_stack.customer}"
    with connect(url, open_timeout=10) as socket:
        assert fanout_stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200
        _views(socket, lambda view: any(
            "inOven" in (c.get("value") or "") for c in view.get("children", [])
        ))  # fmt: skip
        assert fanout_stack.call("POST", f"/orders/{order_id}/cancel", body={})[0] == 200
        _views(socket, lambda view: view["done"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        final = fanout_stack.call("GET", f"/orders/{order_id}")[1]
        if not any(c["status"] == "active" for c in final["children"]):
            break
        time.sleep(0.2)
    assert final["state"] == "cancelled"
    statuses = [c["status"] for c in final["children"]]
    assert "stopped" in statuses and set(statuses) <= {"stopped", "done"}, final["children"]
    for child in final["children"]:
        status, pizza = fanout_stack.call(
            "GET", f"/workflows/pizza/instances/{child['id']}", token=fanout_stack.staff
        )
        assert status == 200 and pizza["status"] == child["status"]
        if child["status"] == "stopped":  # its timers dropped, nothing left to send
            assert pizza["timers"] == {} and pizza["outbox"] == []
