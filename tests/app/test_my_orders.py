"""A customer's prices, totals and own orders, through the real Chalice handlers on moto."""

from __future__ import annotations

import pytest

from chalicelib.orders.menu import SIZE_CENTS, TOPPING_CENTS
from chalicelib.runtime import store
from tests.shop import PIZZA

SMALL = {"name": "Plain", "size": "small", "toppings": []}


def test_the_menu_lists_each_size_and_the_topping_price(shop):
    menu = shop.call("GET", "/menu").json_body
    assert menu["sizes"] == [
        {"size": "small", "cents": 900},
        {"size": "medium", "cents": 1200},
        {"size": "large", "cents": 1500},
    ]
    assert menu["toppingCents"] == TOPPING_CENTS
    assert "pineapple" in menu["toppings"] and len(menu["toppings"]) == 12
    assert shop.call("GET", "/menu", token=None).status_code == 401


def test_the_order_view_prices_each_pizza_and_totals_them(shop):
    order = shop.new_order()
    expected = SIZE_CENTS[PIZZA["size"]] + TOPPING_CENTS * len(PIZZA["toppings"])
    assert [i["priceCents"] for i in order["items"]] == [expected]
    assert order["totalCents"] == expected
    added = shop.call("POST", f"/orders/{order['orderId']}/pizzas", body={"pizza": SMALL})
    assert [i["priceCents"] for i in added.json_body["items"]] == [expected, 900]
    assert added.json_body["totalCents"] == expected + 900
    removed = shop.call("DELETE", f"/orders/{order['orderId']}/pizzas/item-1").json_body
    assert removed["totalCents"] == 900
    assert shop.call("GET", f"/orders/{order['orderId']}").json_body["totalCents"] == 900
    # the stored context keeps the pizzas as ordered: prices are the view's, not the chart's
    stored = store.load(f"order#{order['orderId']}")
    assert all("priceCents" not in item for item in stored.snapshot["context"]["items"])


def _ids(answer):
    return [o["orderId"] for o in answer["orders"]]


def test_my_orders_lists_only_the_callers_orders_newest_first_in_pages(shop):
    mine = [shop.new_order()["orderId"] for _ in range(5)]
    theirs = shop.new_order("other")["orderId"]
    first = shop.call("GET", "/orders?limit=2")
    assert first.status_code == 200, first.json_body
    assert _ids(first.json_body) == [mine[4], mine[3]]
    assert first.json_body["orders"][0]["status"] == "Oh, just ordering some pizza..."
    assert first.json_body["orders"][0]["totalCents"] > 0
    second = shop.call("GET", f"/orders?limit=2&next={first.json_body['next']}").json_body
    assert _ids(second) == [mine[2], mine[1]]
    third = shop.call("GET", f"/orders?limit=2&next={second['next']}").json_body
    assert _ids(third) == [mine[0]]
    assert third["next"] is None
    everything = shop.call("GET", "/orders").json_body
    assert _ids(everything) == mine[::-1] and theirs not in _ids(everything)
    assert _ids(shop.call("GET", "/orders", "other").json_body) == [theirs]


def test_my_orders_shows_each_orders_current_status(shop):
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/cancel").status_code == 200
    listed = shop.call("GET", "/orders").json_body["orders"]
    assert listed[0]["orderId"] == order_id
    assert listed[0]["status"] == shop.call("GET", f"/orders/{order_id}").json_body["status"]
    assert listed[0]["done"] is True


def test_no_orders_is_an_empty_list(shop):
    assert shop.call("GET", "/orders").json_body == {"orders": [], "next": None}


def _forged(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query, says",
    [
        ("limit=0", "limit"),
        ("limit=51", "limit"),
        ("limit=ten", "limit"),
        ("next=", "next"),
        ("next=not-a-token", "page token"),
        ("next=" + _forged('["a", "yesterday"]'), "page token"),
        ("next=" + _forged('{"pk": "order#x"}'), "page token"),
        ("next=" + _forged('["", "2026-01-01T00:00:00.000Z"]'), "page token"),
        ("next=" + "A" * 401, "next"),
        ("colour=red", "colour"),
    ],
)
def test_a_bad_page_query_is_a_400_that_says_what_is_wrong(shop, query, says):
    shop.new_order()
    answer = shop.call("GET", f"/orders?{query}")
    assert answer.status_code == 400, answer.json_body
    assert answer.json_body["error"] == "BadRequest"
    assert says in str(answer.json_body)


def test_a_token_of_another_list_starts_inside_the_callers_own_list(shop):
    """A token names only where to start: whatever it says, the query reads the caller's
    own partition of the owner index."""
    shop.new_order("other")
    mine = shop.new_order()["orderId"]
    forged = _forged(f'["{mine}", "2999-01-01T00:00:00.000Z"]')
    assert _ids(shop.call("GET", f"/orders?next={forged}", "other").json_body) != [mine]
    assert mine not in _ids(shop.call("GET", f"/orders?next={forged}", "other").json_body)


def test_an_order_is_put_in_the_owner_index_when_it_is_created(shop):
    order_id = shop.new_order()["orderId"]
    created = shop.stored(order_id)
    assert created["ownerKey"] == {"S": "order#alice"}
    assert created["ownedSince"] == created["createdAt"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    assert shop.stored(order_id)["ownedSince"] == created["ownedSince"]  # keys never move


def test_the_customers_timeline_speaks_in_statuses_and_the_raw_history_stays(shop):
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    answer = shop.call("GET", f"/orders/{order_id}/history").json_body
    said = [line["said"] for line in answer["timeline"]]
    assert said == [
        f"You added “{PIZZA['name']}”.",
        "You confirmed the order.",
        "Waiting for the pizza to be baked...",
        "The kitchen baked your order.",
        "On its way to you...",
    ]
    assert not any("xstate" in text or "." in text.split()[0] for text in said)
    assert answer["timeline"][-1]["status"] == shop.view(order_id)["status"]
    raw = [t["eventType"] for t in answer["transitions"]]
    assert "xstate.done.actor.sendOrderToKitchen" in raw  # the inspector's words stay
