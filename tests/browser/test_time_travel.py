"""Time travel in Chromium: a customer steps back through an order's history on its chart
(the state then, the transition taken, what happened) while the order moves on, and
returns to live with one click; staff do the same in the inspector, with the context and
the event payload of each step."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.test_console import PIZZA, _confirmed_order, _queue


def _active(page) -> str:
    return page.locator("#chart svg g.active").first.get_attribute("id")


def test_a_customer_steps_back_through_the_history_and_returns_to_live(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator("#timeline li")).to_have_count(3)
    assert "waitingForPizzaToBeBaked" in _active(page)
    expect(page.locator("#travel output")).to_have_text("Live (step 3 of 3)")

    page.locator("#timeline li").first.get_by_role("button").click()
    facts = page.locator("#step-facts")
    expect(facts).to_contain_text("You added “Hawaii deluxe”.")
    expect(facts).to_contain_text("Oh, just ordering some pizza...")
    expect(facts).to_contain_text('"name": "Hawaii deluxe"')  # the event's payload
    expect(page.locator("#travel output")).to_have_text("Step 1 of 3")
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    assert _active(page).split("-state-")[1].startswith("s_order_orderPizza")
    assert customer.axe_violations() == []

    page.get_by_label("Step through the history").fill("2")  # the slider: CONFIRM_PIZZA
    expect(facts).to_contain_text("You confirmed the order.")
    expect(page.locator("#chart svg path.taken")).to_have_count(1)
    expect(page.locator("#chart .edgeLabel.taken")).to_contain_text("CONFIRM_PIZZA")
    assert "sendingOrderToKitchen" in _active(page)
    expect(page.locator("#chart svg g.source")).to_have_count(1)  # the state it left
    assert "orderPizza" in page.locator("#chart svg g.source").get_attribute("id")

    # the order moves on while the customer looks back: the timeline grows, the chart stays
    assert stack.call("POST", f"/kitchen/orders/{order_id}/ready", stack.staff)[0] == 200
    stack.wait_for(lambda: any(o["orderId"] == order_id for o in _queue(stack, "delivery")))
    expect(page.locator("#status")).to_have_text("On its way to you...")
    expect(page.locator("#timeline li")).to_have_count(5)
    assert "sendingOrderToKitchen" in _active(page)
    expect(page.locator("#travel output")).to_have_text("Step 2 of 5")

    page.get_by_role("button", name="Back to live").click()
    expect(page.locator("#travel output")).to_have_text("Live (step 5 of 5)")
    expect(facts).to_be_hidden()
    expect(page.locator("#chart svg path.taken")).to_have_count(0)
    assert "waitingForDelivery" in _active(page)
    expect(page.get_by_role("button", name="Back to live")).to_be_hidden()
    assert customer.axe_violations() == []
    assert customer.problems == []


def test_staff_step_through_an_instance_in_the_inspector_with_its_context(stack, watched):
    status, order = stack.call("POST", "/orders", body={"pizza": PIZZA})
    assert status == 201, order
    order_id = order["orderId"]
    stack.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": {**PIZZA, "name": "Two"}})
    stack.call("POST", f"/orders/{order_id}/confirm")
    staff = watched()
    page = staff.page
    page.goto(f"/app/inspect/order/{order_id}#token={stack.staff}")
    expect(page.locator("#history tr")).to_have_count(4)

    page.get_by_role("button", name="v1: show step 1").click()
    facts = page.locator("#step-facts")
    expect(facts).to_contain_text("1 of 4: version 1")
    context = json.loads(facts.locator("dd pre").nth(1).inner_text())
    assert [item["name"] for item in context["items"]] == ["Hawaii deluxe"]
    assert "orderPizza" in _active(page)
    expect(page.locator("#history tr.picked")).to_have_attribute("data-version", "1")

    page.get_by_role("button", name="v2: show step 2").click()
    context = json.loads(facts.locator("dd pre").nth(1).inner_text())
    assert [item["name"] for item in context["items"]] == ["Hawaii deluxe", "Two"]
    event = json.loads(facts.locator("dd pre").nth(0).inner_text())
    assert event["type"] == "ADD_PIZZA" and event["pizza"]["name"] == "Two"

    page.get_by_label("Step through the history").fill("4")
    expect(facts).to_contain_text("xstate.done.actor.sendOrderToKitchen")
    expect(page.locator("#chart .edgeLabel.taken")).to_contain_text("done(sendOrderToKitchen)")
    assert "waitingForPizzaToBeBaked" in _active(page)
    assert staff.axe_violations() == []
    page.get_by_role("button", name="Back to live").click()
    expect(facts).to_be_hidden()
    expect(page.locator("#history tr.picked")).to_have_count(0)
    assert staff.problems == []
