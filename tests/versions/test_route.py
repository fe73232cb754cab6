"""GET /workflows/{name}: the versions, the one new instances get, and the instances in
flight on each, counted from the sharded counters."""

from __future__ import annotations

from chalicelib.runtime import settings, store, versions
from tests.versions.scenarios import cancelled_while_ordering


def test_the_route_counts_instances_in_flight_per_version(shop):
    open_orders = [shop.new_order()["orderId"] for _ in range(3)]
    cancelled_while_ordering(shop)
    body = shop.call("GET", "/workflows/order").json_body
    # version 3 (pizzas baked one by one) is declared, new orders still start on 1
    assert body["latest"] == 3 and body["inFlight"] == 3 and body["startsOn"] == 1
    v1, v3 = body["versions"]
    assert (v1["version"], v1["latest"], v1["startsOn"], v1["inFlight"]) == (1, False, True, 3)
    assert (v3["version"], v3["latest"], v3["startsOn"], v3["inFlight"]) == (3, True, False, 0)
    assert body["definition"]["initial"] == "orderPizza"
    shards = {versions.counter_shard(f"order#{o}", settings().counter_shards) for o in open_orders}
    assert sum(store.in_flight("order").values()) == 3 and len(shards) >= 1
    assert shop.call("GET", "/workflows/nothing").status_code == 404
