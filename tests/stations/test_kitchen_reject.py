"""Staff reject an order the kitchen holds (POST /kitchen/orders/{id}/rejected), through
the real Chalice handlers on moto: the kitchen reports PIZZA_REJECTED and closes the
order, the order is compensated to ``cancelled`` with the reason in its status."""

from __future__ import annotations

import json

import pytest

from chalicelib.runtime import BadRequest, NotFound, bus
from chalicelib.stations import DELIVERY, KITCHEN
from tests.shop import PIZZA

REASON = "the oven is broken"


def _in_kitchen(shop) -> str:
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    assert shop.deliver("KitchenQueue") == (1, 0)
    assert [w["orderId"] for w in KITCHEN.orders()] == [order_id]
    return order_id


def _reject(shop, order_id: str, body=None, token: str = "staff"):
    return shop.call(
        "POST",
        f"/kitchen/orders/{order_id}/rejected",
        token,
        {"reason": REASON} if body is None else body,
    )


def test_staff_reject_an_order_and_it_is_cancelled_with_the_reason(shop):
    order_id = _in_kitchen(shop)
    answer = _reject(shop, order_id)
    assert answer.status_code == 200, answer.body
    body = answer.json_body
    assert body["orderId"] == order_id and body["reason"] == REASON
    assert body["reported"] == "PIZZA_REJECTED"
    assert body["eventId"] == f"kitchen.{order_id}.PIZZA_REJECTED"
    [report] = shop.waiting("OrderEventsQueue")
    assert report["type"] == "PIZZA_REJECTED" and report["subject"] == order_id
    assert report["data"]["reason"] == REASON and report["data"]["by"] == "sam"
    assert shop.call("GET", "/kitchen/orders", "staff").json_body["orders"] == []

    shop.deliver("OrderEventsQueue")
    shop.settle()  # the kitchen gets CANCEL_PIZZA for an order it closed: nothing changes
    view = shop.view(order_id)
    assert view["state"] == "cancelled"
    assert view["status"] == f"Order cancelled: {REASON}."
    assert view["kitchen"]["reason"] == REASON
    assert [h["eventType"] for h in shop.history(order_id)][-2:] == [
        "PIZZA_REJECTED",
        "xstate.done.actor.cancelAtKitchen",
    ]
    assert shop.waiting("DeliveryQueue") == []


def test_rejecting_twice_or_an_unknown_order_is_404_and_changes_nothing(shop):
    order_id = _in_kitchen(shop)
    assert _reject(shop, order_id).status_code == 200
    before = shop.waiting("OrderEventsQueue")
    again = _reject(shop, order_id, {"reason": "another reason"})
    assert again.status_code == 404
    assert again.json_body["message"] == f"the kitchen does not hold order {order_id!r}"
    assert shop.waiting("OrderEventsQueue") == before  # no second report

    unknown = "0123456789abcdef0123456789abcdef"
    assert _reject(shop, unknown).status_code == 404
    assert _reject(shop, "not-an-order-id").status_code == 404
    assert shop.waiting("OrderEventsQueue") == before


def test_an_order_not_yet_in_the_kitchen_or_already_ready_cannot_be_rejected(shop):
    drafting = shop.new_order()["orderId"]
    assert _reject(shop, drafting).status_code == 404
    order_id = _in_kitchen(shop)
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    assert _reject(shop, order_id).status_code == 404
    assert [m["type"] for m in shop.waiting("OrderEventsQueue")] == ["PIZZA_READY"]


def test_a_customer_may_not_reject_and_bad_bodies_change_nothing(shop):
    order_id = _in_kitchen(shop)
    forbidden = _reject(shop, order_id, token="customer")
    assert forbidden.status_code == 403
    assert "staff" in forbidden.json_body["message"]
    assert _reject(shop, order_id, token=None).status_code == 401
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 201},
                 {"reason": REASON, "by": "someone else"}, {"reason": 42}):  # fmt: skip
        answer = _reject(shop, order_id, body)
        assert answer.status_code == 400, (body, answer.body)
    missing = shop.call("POST", f"/kitchen/orders/{order_id}/rejected", "staff")
    assert missing.status_code == 400
    assert shop.waiting("OrderEventsQueue") == []
    assert [w["orderId"] for w in KITCHEN.orders()] == [order_id]  # still held
    assert shop.view(order_id)["state"] == {"bakePizza": "waitingForPizzaToBeBaked"}


def test_a_rejection_cut_short_is_finished_by_rejecting_again_with_its_first_reason(
    shop, monkeypatch
):
    order_id = _in_kitchen(shop)
    published = []

    def fail(event):
        published.append(event)
        raise RuntimeError("the bus is down")

    monkeypatch.setattr(bus, "publish", fail)
    with pytest.raises(RuntimeError):
        KITCHEN.reject(order_id, "first reason", by="sam")
    monkeypatch.undo()
    finished = KITCHEN.reject(order_id, "second reason", by="sam")
    assert finished["reason"] == "first reason"
    [report] = shop.waiting("OrderEventsQueue")
    assert report["id"] == published[0]["id"] == f"kitchen.{order_id}.PIZZA_REJECTED"
    assert report["data"]["reason"] == "first reason"
    with pytest.raises(NotFound):
        KITCHEN.reject(order_id, "third", by="sam")


def test_a_station_without_a_rejection_cannot_reject(aws):
    with pytest.raises(BadRequest):
        DELIVERY.reject("0123456789abcdef0123456789abcdef", "no", by="sam")


def test_a_late_command_never_brings_a_rejected_order_back(shop):
    order_id = _in_kitchen(shop)
    assert _reject(shop, order_id).status_code == 200
    command = bus.cloud_event(
        "late-command", "MAKE_PIZZA", order_id,
        {"orderId": order_id, "customerId": "alice", "items": [PIZZA]}, "2026-01-01T00:00:00Z",
    )  # fmt: skip
    assert KITCHEN.accept(json.dumps(command)) is False
    assert KITCHEN.orders() == []
