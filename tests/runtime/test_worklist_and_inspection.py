"""The generic runtime surfaces: a workflow's worklist (staff queue, oldest first) and the
staff inspection routes that show any instance of any registered workflow."""

from __future__ import annotations

from chalicelib import runtime
from chalicelib.registry import WORKFLOWS
from chalicelib.runtime import CLIENT, Incoming, Workflow, clock
from tests.shop import PIZZA


def _queued_orders() -> Workflow:
    """The order chart, listed while it is being filled in (a stand-in staff queue)."""
    orders = WORKFLOWS["order"]
    return Workflow(
        "queued", orders.machine, orders.client_events, orders.bus_events, orders.commands,
        orders.view, worklist=lambda snapshot: snapshot.value == "orderPizza",
    )  # fmt: skip


def _start(workflow: Workflow, instance_id: str) -> None:
    event = {"type": "ADD_PIZZA", "pizza": PIZZA, "time": clock.now()}
    context = {"orderId": instance_id, "customerId": "alice"}
    runtime.start(workflow, instance_id, "alice", context, Incoming(event, instance_id, CLIENT))


def _listed(workflow: Workflow) -> list[str]:
    return [outcome.instance_id for outcome in runtime.worklist(workflow)]


def test_worklist_holds_the_instances_it_selects_oldest_first_and_lets_go(aws):
    queued = _queued_orders()
    for instance_id in ("first", "second", "third"):
        _start(queued, instance_id)
    assert _listed(queued) == ["first", "second", "third"]
    # a commit that keeps it listed keeps its place in the queue
    more = {"type": "ADD_PIZZA", "pizza": PIZZA, "time": clock.now()}
    runtime.send(queued, "first", Incoming(more, "more", CLIENT))
    assert _listed(queued) == ["first", "second", "third"]
    listed = runtime.worklist(queued)[0]
    assert len(listed.snapshot.context["items"]) == 2 and listed.meta["version"] == 2
    # the commit that leaves the selected state takes it off, in the same write
    runtime.send(queued, "second", Incoming({"type": "CANCEL_ORDER"}, "cancel", CLIENT))
    assert _listed(queued) == ["first", "third"]


def test_a_workflow_without_a_worklist_writes_no_worklist_attributes(shop):
    order = shop.new_order()
    item = shop.stored(order["orderId"])
    assert "listShard" not in item and "listedSince" not in item
    assert runtime.worklist(WORKFLOWS["order"]) == []


def test_staff_inspect_any_instance_with_its_outbox_timers_and_history(shop):
    order = shop.new_order()
    confirmed = shop.call("POST", f"/orders/{order['orderId']}/confirm")
    assert confirmed.status_code == 200
    path = f"/workflows/order/instances/{order['orderId']}"
    seen = shop.call("GET", path, "staff")
    assert seen.status_code == 200, seen.body
    body = seen.json_body
    assert body["workflow"] == "order" and body["id"] == order["orderId"]
    assert body["version"] == body["view"]["version"] >= 2
    assert body["snapshot"]["value"] == body["state"]
    assert body["mermaid"].startswith("stateDiagram-v2")
    # MAKE_PIZZA went out and came back done: nothing pending, the kitchen's timeout runs
    assert body["state"] == {"bakePizza": "waitingForPizzaToBeBaked"}
    assert body["outbox"] == [] and body["invokes"] == {}
    assert list(body["timers"]) and all(".v" in token for token in body["timers"].values())
    history = shop.call("GET", f"{path}/history", "staff").json_body
    assert [t["version"] for t in history["transitions"]] == list(range(1, body["version"] + 1))


def test_pending_outbox_and_timers_show_in_commit_order(shop, monkeypatch):
    from chalicelib.runtime import Unavailable, bus

    def down(event):
        raise Unavailable("bus down")

    order = shop.new_order()
    monkeypatch.setattr(bus, "publish", down)
    shop.call("POST", f"/orders/{order['orderId']}/confirm")
    body = shop.call("GET", f"/workflows/order/instances/{order['orderId']}", "staff").json_body
    [command] = [m for m in body["outbox"] if m["kind"] == "command"]
    assert command["type"] == "MAKE_PIZZA" and command["attempts"] == 1
    assert command["invoke"] in body["invokes"]
    assert body["invokes"][command["invoke"]] == command["messageId"]


def test_inspection_is_for_staff_and_names_what_is_missing(shop):
    order = shop.new_order()
    path = f"/workflows/order/instances/{order['orderId']}"
    assert shop.call("GET", path).status_code == 403  # the order's own customer
    assert shop.call("GET", path, None).status_code == 401
    unknown = shop.call("GET", f"/workflows/nope/instances/{order['orderId']}", "staff")
    assert unknown.status_code == 404 and "order" in unknown.json_body["message"]
    missing = shop.call("GET", "/workflows/order/instances/no-such-order", "staff")
    assert missing.status_code == 404
    assert (
        shop.call("GET", "/workflows/order/instances/no-such-order/history", "staff").status_code
        == 404
    )


def test_the_inspectors_history_gives_each_steps_snapshot_for_time_travel(shop):
    order_id = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    shop.call("POST", f"/orders/{order_id}/confirm")
    route = f"/workflows/order/instances/{order_id}"
    steps = shop.call("GET", f"{route}/history", "staff").json_body["transitions"]
    assert [len(t["snapshot"]["context"]["items"]) for t in steps] == [1, 2, 2, 2]
    assert [t["snapshot"]["value"] for t in steps] == [
        "orderPizza",
        "orderPizza",
        {"bakePizza": "sendingOrderToKitchen"},
        {"bakePizza": "waitingForPizzaToBeBaked"},
    ]
    stored = shop.call("GET", route, "staff").json_body["snapshot"]
    assert steps[-1]["snapshot"] == {"value": stored["value"], "context": stored["context"]}


def test_time_travel_stops_where_the_history_cannot_be_replayed(shop):
    from chalicelib.orders.service import ORDERS
    from chalicelib.runtime import inspection
    from chalicelib.runtime.versions import replay

    order_id = shop.new_order()["orderId"]
    shop.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": PIZZA})
    records = inspection.history(ORDERS, order_id)["transitions"]
    records[1]["event"] = {"type": "ADD_PIZZA", "truncated": True, "bytes": 400000}
    assert len(replay.steps(ORDERS, records)) == 1
