"""Issue 19, Medium 7: after a v2 deploy, each instance is drawn on the chart of its own
version (the order's diagram route and the inspector), and says which version it is."""

from __future__ import annotations

from chalicelib.orders.versions import order_workflow_v2
from chalicelib.orders.workflow import Timing
from tests.versions.inflight import deployed
from tests.versions.scenarios import bus_down, confirmed


def _sending_to_delivery(shop) -> str:
    """A version 1 order in deliverPizza.sendingOrderToDelivery, which v2 renamed."""
    order_id = confirmed(shop)
    shop.deliver("KitchenQueue")
    assert shop.call("POST", f"/kitchen/orders/{order_id}/ready", "staff").status_code == 200
    with bus_down():
        shop.deliver("OrderEventsQueue")
    assert shop.view(order_id)["state"] == {"deliverPizza": "sendingOrderToDelivery"}
    return order_id


def test_a_v1_order_is_drawn_on_v1s_chart_after_v2_is_deployed(shop):
    old = _sending_to_delivery(shop)
    with deployed(order_workflow_v2(Timing.from_environment(), migrate=False)):
        new = shop.new_order()["orderId"]
        drawn = shop.call("GET", f"/orders/{old}/diagram")
        assert drawn.status_code == 200, drawn.body
        assert drawn.json_body["definition"] == 1
        assert "sendingOrderToDelivery" in drawn.json_body["mermaid"]
        assert "qualityCheck" not in drawn.json_body["mermaid"]
        inspected = shop.call("GET", f"/workflows/order/instances/{old}", "staff")
        assert inspected.status_code == 200, inspected.body
        assert inspected.json_body["definition"] == 1
        assert inspected.json_body["mermaid"] == drawn.json_body["mermaid"]
        fresh = shop.call("GET", f"/orders/{new}/diagram").json_body
        assert fresh["definition"] == 2 and "qualityCheck" in fresh["mermaid"]
