"""Every route under random bodies, paths and headers, and the auth matrix.

"Nothing lost" here: never a 5xx; every 4xx has a JSON body that says what was
wrong; and a refused request leaves the stored order exactly as it was.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.runtime import auth
from tests.shop import PIZZA, SECRET

ROUTES = [
    ("POST", "/orders"),
    ("GET", "/orders/{id}"),
    ("POST", "/orders/{id}/pizzas"),
    ("DELETE", "/orders/{id}/pizzas/{item}"),
    ("POST", "/orders/{id}/confirm"),
    ("POST", "/orders/{id}/cancel"),
    ("POST", "/orders/{id}/events"),
    ("GET", "/orders/{id}/history"),
    ("GET", "/orders/{id}/diagram"),
    ("GET", "/workflows/order"),
    ("GET", "/kitchen/orders"),
    ("POST", "/kitchen/orders/{id}/ready"),
    ("GET", "/delivery/orders"),
    ("POST", "/delivery/orders/{id}/delivered"),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
pizza_like = st.fixed_dictionaries(
    {"pizza": st.fixed_dictionaries(
        {"name": st.text(max_size=80), "size": st.sampled_from(["small", "huge", "", "LARGE"]),
         "toppings": st.lists(st.sampled_from(["mango", "anchovy", "kiwi", "", "mango"]), max_size=10)}
    )}
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    pizza_like.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"{", b"[]", b"null", b'{"type": "PIZZA_READY"}', b'{"type": 7}']),
)
segments = st.text(min_size=1, max_size=30).map(lambda s: quote(s, safe=""))
keys = st.one_of(st.none(), st.text(max_size=120))


def _check(shop, response, order_id, before):
    assert response.status_code < 500, (response.status_code, response.body)
    if response.status_code >= 400:
        body = json.loads(response.body)
        assert isinstance(body, dict) and (body.get("message") or body.get("Message"))
        assert shop.stored(order_id) == before


@pytest.mark.parametrize("method, path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, segment=segments, key=keys, own=st.booleans())
def test_fuzzed_requests_never_fail_the_server_or_change_state(
    shop, method, path, body, segment, key, own
):
    order_id = shop.new_order()["orderId"]
    before = shop.stored(order_id)
    target = path.format(id=order_id if own else segment, item=segment)
    headers = (
        {}
        if key is None
        else {"Idempotency-Key": key.encode("latin-1", "replace").decode("latin-1")}
    )
    token = "staff" if path.startswith(("/kitchen", "/delivery")) else "customer"
    response = shop.call(method, target, token, headers=headers, raw=body)
    _check(shop, response, order_id, before)


TOKENS = {
    "no token": lambda shop: None,
    "expired": lambda shop: auth.issue(SECRET, "alice", ttl_seconds=-3600),
    "bad signature": lambda shop: auth.issue("wrong-secret", "alice"),
    "other customer": lambda shop: shop.other,
    "staff": lambda shop: shop.staff,
}
# what each caller gets on alice's order (still being ordered, so no station holds it)
EXPECTED = {
    "no token": {r: 401 for r in ROUTES},
    "expired": {r: 401 for r in ROUTES},
    "bad signature": {r: 401 for r in ROUTES},
    "other customer": {
        **{r: 404 for r in ROUTES if "{id}" in r[1]},
        ("POST", "/orders"): 201, ("GET", "/workflows/order"): 200,
        ("GET", "/kitchen/orders"): 403, ("POST", "/kitchen/orders/{id}/ready"): 403,
        ("GET", "/delivery/orders"): 403, ("POST", "/delivery/orders/{id}/delivered"): 403,
    },
    "staff": {
        **{r: 404 for r in ROUTES if "{id}" in r[1]},
        ("POST", "/orders"): 201, ("GET", "/workflows/order"): 200,
        ("GET", "/orders/{id}"): 200, ("GET", "/orders/{id}/history"): 200,
        ("GET", "/orders/{id}/diagram"): 200,
        ("GET", "/kitchen/orders"): 200, ("GET", "/delivery/orders"): 200,
    },
}  # fmt: skip
MATRIX = [(who, route) for who in TOKENS for route in ROUTES]


@pytest.mark.parametrize("who, route", MATRIX, ids=[f"{w}: {m} {p}" for w, (m, p) in MATRIX])
def test_auth_matrix(shop, who, route):
    order_id = shop.new_order()["orderId"]
    before = shop.stored(order_id)
    method, path = route
    body = {"pizza": PIZZA} if path in ("/orders", "/orders/{id}/pizzas") else None
    if path.endswith("/events"):
        body = {"type": "CONFIRM_PIZZA"}
    token = TOKENS[who](shop)
    response = shop.call(method, path.format(id=order_id, item="item-1"), token, body=body)
    assert response.status_code == EXPECTED[who][route], response.body
    if response.status_code >= 400:
        assert json.loads(response.body)
    assert shop.stored(order_id) == before
