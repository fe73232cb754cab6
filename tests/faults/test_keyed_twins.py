"""Issue 19, High 2: of two concurrent requests with one Idempotency-Key, one commits and
the other gets its answer, on every route that takes a key.

The interleaving is forced: the twin's key lookup misses (it looked before the first
request committed), then it loads the instance the first request left. Before the fix it
decided on that state and was refused (409) for every event that cannot apply twice."""

from __future__ import annotations

import pytest

from chalicelib.runtime import auth, store
from tests.complaints.conftest import deliver_order
from tests.shop import PIZZA, SECRET


@pytest.fixture
def twin_looked_first(monkeypatch):
    """Make the next key lookup miss, as a twin's that ran before the first commit."""
    real = store.idempotency
    armed: list[bool] = []

    def lookup(event_id):
        if armed:
            armed.clear()
            return None
        return real(event_id)

    monkeypatch.setattr(store, "idempotency", lookup)
    return lambda: armed.append(True)


def _twins(shop, arm, method, path, token="customer", body=None, key="twin-1"):
    headers = {"Idempotency-Key": key}
    first = shop.call(method, path, token, body, headers=headers)
    assert first.status_code in (200, 201), first.body
    arm()
    twin = shop.call(method, path, token, body, headers=headers)
    assert (twin.status_code, twin.json_body) == (first.status_code, first.json_body)
    return first.json_body


def _ordering(shop):
    return shop.new_order()["orderId"]


ORDER_ROUTES = {
    "place": lambda o: ("POST", "/orders", {"pizza": PIZZA}),
    "add": lambda o: ("POST", f"/orders/{o}/pizzas", {"pizza": PIZZA}),
    "remove": lambda o: ("DELETE", f"/orders/{o}/pizzas/{{item}}", None),
    "confirm": lambda o: ("POST", f"/orders/{o}/confirm", None),
    "cancel": lambda o: ("POST", f"/orders/{o}/cancel", None),
    "events": lambda o: ("POST", f"/orders/{o}/events", {"type": "CONFIRM_PIZZA"}),
}


@pytest.mark.parametrize("route", sorted(ORDER_ROUTES))
def test_order_route_twins_get_the_first_answer(shop, twin_looked_first, route):
    order_id = _ordering(shop)
    method, path, body = ORDER_ROUTES[route](order_id)
    if "{item}" in path:
        shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
        item = shop.view(order_id)["items"][-1]["itemId"]
        path = path.replace("{item}", item)
    _twins(shop, twin_looked_first, method, path, body=body)


@pytest.fixture
def complaint(shop):
    shop.manager = auth.issue(SECRET, "maya", roles=["manager"])
    order_id = deliver_order(shop)
    return order_id


def _open(shop, order_id):
    opened = shop.call("POST", f"/orders/{order_id}/complaint", body={"reason": "cold"})
    assert opened.status_code == 201, opened.body


def _ask(shop, order_id):
    body = {"question": "which pizza?"}
    assert shop.call("POST", f"/complaints/{order_id}/question", "staff", body).status_code == 200


COMPLAINT_ROUTES = {  # route: (setup, method, path, token, body)
    "open": (None, "POST", "/orders/{o}/complaint", "customer", {"reason": "cold"}),
    "claim": (_open, "POST", "/complaints/{o}/claim", "staff", None),
    "question": (_open, "POST", "/complaints/{o}/question", "staff", {"question": "which?"}),
    "answer": (
        lambda s, o: (_open(s, o), _ask(s, o)), "POST", "/orders/{o}/complaint/answer",
        "customer", {"message": "the mango one"},
    ),
    "withdraw": (_open, "POST", "/orders/{o}/complaint/withdraw", "customer", None),
    "approve": (_open, "POST", "/complaints/{o}/decision", "staff", {"decision": "approve"}),
    "reject": (
        _open, "POST", "/complaints/{o}/decision", "manager",
        {"decision": "reject", "reason": "looks fine"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("route", sorted(COMPLAINT_ROUTES))
def test_complaint_route_twins_get_the_first_answer(shop, complaint, twin_looked_first, route):
    setup, method, path, token, body = COMPLAINT_ROUTES[route]
    if setup:
        setup(shop, complaint)
    _twins(shop, twin_looked_first, method, path.replace("{o}", complaint), token, body)


def test_a_refusal_with_a_new_key_is_still_a_refusal(shop, twin_looked_first):
    order_id = _ordering(shop)
    headers = {"Idempotency-Key": "once"}
    assert shop.call("POST", f"/orders/{order_id}/confirm", headers=headers).status_code == 200
    twin_looked_first()
    again = shop.call("POST", f"/orders/{order_id}/confirm", headers={"Idempotency-Key": "new"})
    assert again.status_code == 409  # another key: a new request, refused on the new state


def test_a_twin_that_loses_every_race_gets_the_first_answer(shop, twin_looked_first, monkeypatch):
    from chalicelib.runtime.core import commit

    order_id = _ordering(shop)
    headers = {"Idempotency-Key": "racer"}
    path, body = f"/orders/{order_id}/pizzas", {"pizza": PIZZA}
    first = shop.call("POST", path, body=body, headers=headers)
    assert first.status_code == 200

    def lost(write):
        raise store.ConflictError("another writer committed first")

    from chalicelib.runtime import settings

    monkeypatch.setenv("COMMIT_RACE_SECONDS", "0.2")  # give up soon
    settings.cache_clear()
    monkeypatch.setattr(commit, "commit_transition", lost)
    twin_looked_first()
    twin = shop.call("POST", path, body=body, headers=headers)
    monkeypatch.delenv("COMMIT_RACE_SECONDS")
    settings.cache_clear()
    assert (twin.status_code, twin.json_body) == (200, first.json_body)


def test_a_keyed_open_retried_after_the_window_gets_its_first_answer(shop, complaint, monkeypatch):
    """Issue 19, Medium 5: the 24-hour check ran before the runtime's key lookup."""
    from datetime import timedelta

    from chalicelib.runtime import clock

    headers = {"Idempotency-Key": "open-1"}
    path, body = f"/orders/{complaint}/complaint", {"reason": "cold"}
    first = shop.call("POST", path, body=body, headers=headers)
    assert first.status_code == 201, first.body
    later = clock.parse(clock.now()) + timedelta(hours=24, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: clock.stamp(later))
    retry = shop.call("POST", path, body=body, headers=headers)
    assert (retry.status_code, retry.json_body) == (201, first.json_body)
    fresh = shop.call("POST", path, body=body, headers={"Idempotency-Key": "open-2"})
    assert fresh.status_code == 409 and "24 hours" in fresh.json_body["message"]


def test_a_key_reused_after_its_record_expired_does_not_add_to_the_old_order(shop):
    """Issue 19, Low 10: after the key's record expired, POST /orders with the same key
    answered 201 "new order" with the old order and the new pizza added."""
    import boto3

    from tests.shop import REGION

    headers = {"Idempotency-Key": "day-old"}
    first = shop.call("POST", "/orders", body={"pizza": PIZZA}, headers=headers)
    assert first.status_code == 201
    order_id = first.json_body["orderId"]
    boto3.client("dynamodb", region_name=REGION).delete_item(  # the TTL removed it
        TableName="tropical-pizzas",
        Key={"pk": {"S": "idempotency#client.alice/day-old"}, "sk": {"S": "idempotency"}},
    )
    before = shop.view(order_id)
    again = shop.call("POST", "/orders", body={"pizza": PIZZA}, headers=headers)
    assert again.status_code == 409, again.body
    assert again.json_body["orderId"] == order_id and "24 hours" in again.json_body["message"]
    assert shop.view(order_id) == before  # nothing was changed
