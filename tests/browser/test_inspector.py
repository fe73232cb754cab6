"""The inspector draws any instance from the runtime's generic instance routes
(GET /workflows/{name}/instances/{id} and .../history): once as the routes answer it,
once with an answer of the documented shape that has every part filled in (a pending
outbox message, a timer and an invoke), which a live instance has only for a moment."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.test_console import PIZZA


def _instance_answer(stack, order_id: str) -> dict:
    """The documented answer of the instance route, built from the order's real data."""
    view = stack.call("GET", f"/orders/{order_id}", stack.staff)[1]
    chart = stack.call("GET", f"/orders/{order_id}/diagram", stack.staff)[1]["mermaid"]
    return {
        "workflow": "order", "id": order_id, "version": view["version"], "state": view["state"],
        "status": "active", "snapshot": {"value": view["state"], "context": {"orderId": order_id}},
        "view": view, "nextEvents": view["nextEvents"],
        "outbox": [{"messageId": f"order.{order_id}.v2.1", "kind": "command",
                    "type": "MAKE_PIZZA", "seq": [2, 1], "attempts": 2, "dueAt": None}],
        "timers": {"xstate.after.kitchenTimeout": {"dueAt": "2026-01-01T00:15:00Z"}},
        "invokes": {"sendOrderToKitchen": {"status": "active"}},
        "createdAt": view["createdAt"], "updatedAt": view["updatedAt"], "mermaid": chart,
    }  # fmt: skip


def test_the_inspector_shows_chart_history_snapshot_outbox_and_timers(stack, watched):
    order_id = stack.call("POST", "/orders", body={"pizza": PIZZA})[1]["orderId"]
    assert stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200
    history = stack.call("GET", f"/orders/{order_id}/history", stack.staff)[1]
    instance = _instance_answer(stack, order_id)
    base = f"**/workflows/order/instances/{order_id}"

    staff = watched()
    page = staff.page
    page.route(base, lambda route: route.fulfill(json=instance))
    page.route(
        base + "/history",
        lambda route: route.fulfill(json={"workflow": "order", "id": order_id, **history}),
    )
    page.goto(f"/app/inspect/order/{order_id}#token={stack.staff}")

    expect(page.locator("#summary")).to_contain_text(f"version{instance['version']}")
    expect(page.locator("#history tr")).to_have_count(len(history["transitions"]))
    expect(page.locator("#history")).to_contain_text("CONFIRM_PIZZA")
    expect(page.locator("#outbox tr")).to_contain_text(["commandMAKE_PIZZA2.12"])
    expect(page.locator("#timers")).to_contain_text("xstate.after.kitchenTimeout")
    snapshot = json.loads(page.locator("#snapshot").inner_text())
    assert snapshot == instance["snapshot"]
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    expect(page.locator("#chart svg g.visited")).not_to_have_count(0)
    assert staff.axe_violations() == []
    staff.screenshot("inspector")
    assert staff.problems == []


def test_the_inspector_follows_a_live_instance(stack, watched):
    order_id = stack.call("POST", "/orders", body={"pizza": PIZZA})[1]["orderId"]
    assert stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200
    stack.wait_for(
        lambda: any(
            o["orderId"] == order_id
            for o in stack.call("GET", "/kitchen/orders", stack.staff)[1]["orders"]
        ),
        what="the order in the kitchen",
    )
    route = f"/workflows/order/instances/{order_id}"
    stored = stack.call("GET", route, stack.staff)[1]
    staff = watched()
    page = staff.page
    page.goto(f"/app/inspect/order/{order_id}#token={stack.staff}")
    expect(page.locator("#instance")).to_have_attribute("data-version", str(stored["version"]))
    assert json.loads(page.locator("#snapshot").inner_text()) == stored["snapshot"]
    expect(page.locator("#history tr")).to_have_count(stored["version"])
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    expect(page.locator("#connection")).to_have_text("Live: changes show as they happen.")

    assert stack.call("POST", f"/kitchen/orders/{order_id}/ready", stack.staff)[0] == 200
    expect(page.locator("#history tr", has_text="PIZZA_READY")).to_have_count(1)
    expect(page.locator("#summary")).to_contain_text("deliverPizza")
    assert staff.problems == []
