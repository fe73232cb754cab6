"""What a customer sees in Chromium: prices on the menu, line prices and the total,
"My orders" with each order's status, and a timeline in their own words."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_console import PIZZA, _confirmed_order

PHONE = {"width": 390, "height": 844}


def test_the_menu_shows_prices_and_the_order_its_lines_and_total(stack, watched):
    customer = watched()
    page = customer.page
    page.goto(f"/app#token={stack.customer}")
    size = page.get_by_label("Size")
    expect(size.locator("option")).to_have_text(["small (9.00)", "medium (12.00)", "large (15.00)"])
    expect(page.locator("#toppings-legend")).to_have_text("Fruit toppings (up to 8, 1.50 each)")
    expect(page.locator("#pizza-price")).to_have_text("This pizza: 18.00")  # large, 2 fruits
    page.get_by_label("kiwi").check()
    expect(page.locator("#pizza-price")).to_have_text("This pizza: 19.50")
    size.select_option("small")
    expect(page.locator("#pizza-price")).to_have_text("This pizza: 13.50")
    page.get_by_label("Name").fill("Small one")
    page.get_by_role("button", name="Add pizza").click()
    expect(page.locator("#items li")).to_have_count(1)
    expect(page.locator("#items li .price")).to_have_text(["13.50"])
    expect(page.locator("#order-total")).to_have_text("Total: 13.50")
    size.select_option("large")
    page.get_by_label("Name").fill("Big one")
    page.get_by_role("button", name="Add pizza").click()
    expect(page.locator("#items li .price")).to_have_text(["13.50", "19.50"])
    expect(page.locator("#order-total")).to_have_text("Total: 33.00")
    assert customer.axe_violations() == []
    page.get_by_role("button", name="Confirm order").click()

    page.wait_for_url(re.compile(r"/app/orders/[0-9a-f]{32}$"))
    expect(page.locator("#items li .price")).to_have_text(["13.50", "19.50"])
    expect(page.locator("#total")).to_have_text("Total: 33.00")
    timeline = page.locator("#timeline li")
    expect(timeline.first).to_contain_text("You added “Small one”.")
    expect(page.locator("#timeline")).to_contain_text("You confirmed the order.")
    expect(page.locator("#timeline")).to_contain_text("Waiting for the pizza to be baked...")
    expect(page.locator("#timeline")).not_to_contain_text("xstate")
    expect(page.locator("#timeline")).not_to_contain_text("waitingForPizzaToBeBaked")
    assert customer.axe_violations() == []
    assert customer.problems == []


def _placed(stack, name: str) -> str:
    status, order = stack.call("POST", "/orders", body={"pizza": {**PIZZA, "name": name}})
    assert status == 201, order
    return order["orderId"]


def test_a_customer_finds_an_earlier_order_in_my_orders(stack, watched):
    earlier = _confirmed_order(stack)
    cancelled = _placed(stack, "Changed my mind")
    assert stack.call("POST", f"/orders/{cancelled}/cancel")[0] == 200
    for n in range(10):  # more than one page: the earlier order is on a later one
        _placed(stack, f"Later {n}")
    customer = watched()
    page = customer.page
    page.goto(f"/app/orders#token={stack.customer}")
    cards = page.locator("#orders li")
    expect(cards.first).to_contain_text("Later 9")  # newest first
    expect(cards.first).to_contain_text("Oh, just ordering some pizza...")
    found = page.locator(f"#orders li[data-order='{earlier}']")
    more = page.get_by_role("button", name="Show older orders")
    for _ in range(20):
        if found.count():
            break
        shown = cards.count()
        more.click()
        expect(cards).not_to_have_count(shown)
    expect(found).to_contain_text("Waiting for the pizza to be baked...")
    expect(page.locator(f"#orders li[data-order='{cancelled}']")).to_contain_text("Order cancelled")
    expect(found).to_contain_text("total 18.00")
    assert customer.axe_violations() == []
    found.get_by_role("link").click()
    page.wait_for_url(re.compile(f"/app/orders/{earlier}$"))
    expect(page.locator("#status")).to_have_text("Waiting for the pizza to be baked...")
    assert customer.problems == []
