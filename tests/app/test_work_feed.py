"""The work feed through the real handlers on moto: staff listen over the websocket and
hear work arrive at and leave the stations, and complaints join and leave the worklist,
with what the board lists; customers may not listen."""

from __future__ import annotations

from tests.complaints.conftest import deliver_order


def _heard(shop, connection: str) -> list[dict]:
    return [m for m in shop.sender.sent.get(connection, []) if m.get("feed") == "work"]


def test_a_customer_may_not_listen_to_the_work_feed(shop):
    answer = shop.ws("connect", "c-1", {"feed": "work", "token": shop.customer})
    assert answer["statusCode"] == 403
    assert shop.ws("connect", "c-2", {"feed": "no such", "token": shop.staff})["statusCode"] == 400


def test_staff_hear_work_arrive_at_and_leave_the_kitchen(shop):
    assert shop.ws("connect", "board-1", {"feed": "work", "token": shop.staff})["statusCode"] == 200
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    assert _heard(shop, "board-1") == []  # nothing waits on people yet
    shop.deliver("KitchenQueue")
    arrived = _heard(shop, "board-1")
    assert [(m["list"], m["change"], m["id"]) for m in arrived] == [
        ("kitchen", "arrived", order_id)
    ]
    listed = shop.call("GET", "/kitchen/orders", "staff").json_body["orders"]
    assert arrived[0]["item"] == listed[0]  # what the board would have read
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    assert [(m["list"], m["change"]) for m in _heard(shop, "board-1")][1:] == [("kitchen", "left")]
    shop.deliver("OrderEventsQueue")
    shop.deliver("DeliveryQueue")
    assert _heard(shop, "board-1")[-1]["list"] == "delivery"
    assert _heard(shop, "board-1")[-1]["change"] == "arrived"


def test_staff_hear_a_complaint_join_and_leave_the_worklist(shop):
    order_id = deliver_order(shop)
    shop.ws("connect", "board-2", {"feed": "work", "token": shop.staff})
    opened = shop.call("POST", f"/orders/{order_id}/complaint", body={"reason": "cold"})
    assert opened.status_code == 201
    heard = _heard(shop, "board-2")
    assert [(m["list"], m["change"], m["id"]) for m in heard] == [
        ("complaint", "arrived", order_id)
    ]
    assert heard[0]["item"]["reason"] == "cold"
    assert shop.call("POST", f"/complaints/{order_id}/claim", "staff").status_code == 200
    decided = shop.call(
        "POST", f"/complaints/{order_id}/decision", "staff", {"decision": "reject", "reason": "no"}
    )
    assert decided.status_code == 200, decided.json_body
    changes = [m["change"] for m in _heard(shop, "board-2")]
    assert changes == ["arrived", "arrived", "left"]  # claimed: still listed, newer view


def test_a_gone_listener_holds_back_no_other_and_a_disconnect_ends_listening(shop):
    shop.ws("connect", "board-3", {"feed": "work", "token": shop.staff})
    shop.ws("connect", "board-4", {"feed": "work", "token": shop.staff})
    shop.sender.gone.add("board-3")
    first = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{first}/confirm")
    shop.deliver("KitchenQueue")
    assert _heard(shop, "board-3") == [] and len(_heard(shop, "board-4")) == 1
    assert shop.ws("disconnect", "board-4")["statusCode"] == 200
    second = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{second}/confirm")
    shop.deliver("KitchenQueue")
    assert len(_heard(shop, "board-4")) == 1  # no more after its $disconnect
