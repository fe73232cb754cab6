"""Fixtures for the complaint workflow's tests through the real handlers."""

from __future__ import annotations

import pytest

from chalicelib.runtime import auth
from tests.shop import SECRET


def deliver_order(shop) -> str:
    """A new order of the customer's, taken through kitchen and delivery to ``done``."""
    order_id = shop.new_order()["orderId"]
    assert shop.call("POST", f"/orders/{order_id}/confirm").status_code == 200
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    shop.deliver("DeliveryQueue")
    assert shop.call("POST", f"/delivery/orders/{order_id}/delivered", "staff").status_code == 200
    shop.deliver("OrderEventsQueue")
    assert shop.view(order_id)["state"] == "done"
    return order_id


@pytest.fixture
def delivered(shop) -> str:
    """The id of the customer's delivered order."""
    shop.manager = auth.issue(SECRET, "maya", roles=["manager"])
    return deliver_order(shop)
