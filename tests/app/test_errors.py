"""Every error row of the API: right status, a JSON body that says what was wrong,
and no change to what is stored."""

from __future__ import annotations

import json

import pytest

from chalicelib.runtime import auth
from tests.conftest import SECRET
from tests.shop import PIZZA


def _expired():
    return auth.issue(SECRET, "alice", ttl_seconds=-3600)


def _forged():
    return auth.issue("not-the-secret", "alice")


CASES = [
    # (name, method, path template, token, body, raw, headers, status, message fragment)
    ("malformed JSON", "POST", "/orders/{id}/pizzas", "customer", None, b'{"pizza": ', {}, 400, "malformed JSON"),
    ("body not an object", "POST", "/orders/{id}/pizzas", "customer", [1, 2], None, {}, 400, "JSON object"),
    ("wrong type", "POST", "/orders/{id}/pizzas", "customer", {"pizza": {"name": 7, "size": "large"}}, None, {}, 400, "invalid ADD_PIZZA payload"),
    ("unknown topping", "POST", "/orders/{id}/pizzas", "customer", {"pizza": {**PIZZA, "toppings": ["anchovy"]}}, None, {}, 400, "invalid ADD_PIZZA payload"),
    ("extra field", "POST", "/orders/{id}/pizzas", "customer", {"pizza": PIZZA, "price": 0}, None, {}, 400, "invalid ADD_PIZZA payload"),
    ("unknown event", "POST", "/orders/{id}/events", "customer", {"type": "EAT_PIZZA"}, None, {}, 400, "unknown event type"),
    ("bad idempotency key", "POST", "/orders/{id}/pizzas", "customer", {"pizza": PIZZA}, None, {"Idempotency-Key": "spaces are bad"}, 400, "Idempotency-Key"),
    ("no token", "POST", "/orders/{id}/pizzas", None, {"pizza": PIZZA}, None, {}, 401, "Unauthorized"),
    ("garbage token", "POST", "/orders/{id}/pizzas", "garbage", {"pizza": PIZZA}, None, {}, 401, "malformed token"),
    ("expired token", "POST", "/orders/{id}/pizzas", _expired, {"pizza": PIZZA}, None, {}, 401, "token expired"),
    ("forged signature", "POST", "/orders/{id}/pizzas", _forged, {"pizza": PIZZA}, None, {}, 401, "bad token signature"),
    ("customer on kitchen route", "POST", "/kitchen/orders/{id}/ready", "customer", None, None, {}, 403, "staff"),
    ("customer lists deliveries", "GET", "/delivery/orders", "customer", None, None, {}, 403, "staff"),
    ("forged service event", "POST", "/orders/{id}/events", "customer", {"type": "PIZZA_READY", "station": "kitchen"}, None, {}, 403, "may not come from a client"),
    ("other customer's order", "POST", "/orders/{id}/pizzas", "other", {"pizza": PIZZA}, None, {}, 404, "no order"),
    ("other customer reads", "GET", "/orders/{id}", "other", None, None, {}, 404, "no order"),
    ("unknown order", "POST", "/orders/nope/confirm", "customer", None, None, {}, 404, "no order 'nope'"),
    ("unknown item", "DELETE", "/orders/{id}/pizzas/item-9", "customer", None, None, {}, 409, "REMOVE_PIZZA is not allowed"),
    ("kitchen has nothing", "POST", "/kitchen/orders/next/ready", "staff", None, None, {}, 404, "does not hold"),
    ("body too large", "POST", "/orders/{id}/pizzas", "customer", None, b'{"pizza": "' + b"x" * 20000 + b'"}', {}, 413, "limit"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_requests_get_a_clear_error_and_change_nothing(shop, case):
    _, method, path, token, body, raw, headers, status, fragment = case
    order_id = shop.new_order()["orderId"]
    before = shop.stored(order_id)
    token = token() if callable(token) else token
    response = shop.call(method, path.format(id=order_id), token, body, headers=headers, raw=raw)
    assert response.status_code == status, response.body
    assert fragment in response.body.decode()
    assert isinstance(json.loads(response.body), dict)
    assert shop.stored(order_id) == before


def test_event_not_allowed_now_lists_next_events(shop):
    order_id = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{order_id}/confirm")
    before = shop.stored(order_id)
    response = shop.call("POST", f"/orders/{order_id}/confirm")
    assert response.status_code == 409
    assert response.json_body["error"] == "EventNotAllowed"
    assert "CONFIRM_PIZZA is not allowed in state bakePizza" in response.json_body["message"]
    assert response.json_body["nextEvents"] == ["CANCEL_ORDER"]
    assert shop.stored(order_id) == before


def test_confirm_without_pizzas_is_refused(shop):
    order_id = shop.new_order()["orderId"]
    shop.call("DELETE", f"/orders/{order_id}/pizzas/item-1")
    response = shop.call("POST", f"/orders/{order_id}/confirm")
    assert response.status_code == 409
    assert "CONFIRM_PIZZA" in response.json_body["nextEvents"]


def test_the_fifty_first_pizza_is_too_many(shop):
    order_id = shop.new_order()["orderId"]
    for _ in range(49):
        assert (
            shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA}).status_code
            == 200
        )
    before = shop.stored(order_id)
    response = shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    assert response.status_code == 413
    assert "at most 50" in response.json_body["message"]
    assert shop.stored(order_id) == before


def test_staff_may_read_any_order_but_not_change_it(shop):
    order_id = shop.new_order()["orderId"]
    assert shop.call("GET", f"/orders/{order_id}", "staff").status_code == 200
    assert shop.call("POST", f"/orders/{order_id}/confirm", "staff").status_code == 404


def test_token_past_its_expiry_is_refused():
    token = auth.issue(SECRET, "alice", ttl_seconds=-7200)
    with pytest.raises(auth.Unauthorized, match="expired"):
        auth.verify(token, SECRET)


def test_a_body_not_sent_as_json_gets_415_in_the_api_error_format(shop):
    """Chalice refuses it before any route runs; its own {"Code", "Message"} is answered
    as every other error is (issue 20, item 6), and nothing is created."""
    stored = _items()
    answer = shop.call(
        "POST", "/orders", body={"pizza": PIZZA}, headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 415
    assert answer.json_body["error"] == "UnsupportedMediaType"
    assert "Content-Type: application/json" in answer.json_body["message"]
    assert set(answer.json_body) == {"error", "message"}
    assert _items() == stored


def _items() -> int:
    from chalicelib.runtime import client, settings

    return client("dynamodb").scan(TableName=settings().table_name, Select="COUNT")["Count"]


def test_a_method_a_path_lacks_gets_405_in_the_api_error_format(shop):
    answer = shop.call("DELETE", "/orders")
    assert answer.status_code == 405 and answer.json_body["error"] == "MethodNotAllowedError"
