"""The inspector draws any instance from the runtime's generic instance routes
(GET /workflows/{name}/instances/{id} and .../history)."""

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
                    "type": "MAKE_PIZZA", "seq": 1, "attempts": 2, "dueAt": None}],
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
    expect(page.locator("#outbox")).to_contain_text("MAKE_PIZZA")
    expect(page.locator("#timers")).to_contain_text("xstate.after.kitchenTimeout")
    snapshot = json.loads(page.locator("#snapshot").inner_text())
    assert snapshot == instance["snapshot"]
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    expect(page.locator("#chart svg g.visited")).not_to_have_count(0)
    assert staff.axe_violations() == []
    staff.screenshot("inspector")
    assert staff.problems == []
