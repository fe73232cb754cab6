"""The web console in a real browser: a customer orders and watches, staff finish the
order from the board, the pages stay accessible and say what went wrong."""

from __future__ import annotations

import re

from playwright.sync_api import expect

PIZZA = {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "mango"]}


def _confirmed_order(stack) -> str:
    status, order = stack.call("POST", "/orders", body={"pizza": PIZZA})
    assert status == 201, order
    order_id = order["orderId"]
    assert stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200
    stack.wait_for(
        lambda: any(o["orderId"] == order_id for o in _queue(stack, "kitchen")),
        what="the order in the kitchen",
    )
    return order_id


def _queue(stack, station: str) -> list[dict]:
    return stack.call("GET", f"/{station}/orders", stack.staff)[1]["orders"]


def test_customer_orders_and_watches_staff_finish_it_live(stack, watched):
    customer = watched()
    page = customer.page
    page.goto("/app")
    assert customer.axe_violations() == []
    customer.sign_in("customer-1")
    expect(page.get_by_role("button", name="Confirm order")).to_be_disabled()
    page.get_by_label("Name").fill("Hawaii deluxe")
    page.get_by_role("button", name="Add pizza").click()
    expect(page.locator("#items li")).to_have_count(1)
    page.get_by_label("Name").fill("Mango tango")
    page.get_by_label("Size").select_option("medium")
    page.get_by_label("kiwi").check()
    page.get_by_role("button", name="Add pizza").click()
    page.get_by_label("Name").fill("Mistake")
    page.get_by_role("button", name="Add pizza").click()
    expect(page.locator("#items li")).to_have_count(3)
    page.get_by_role("button", name="Remove Mistake").click()
    expect(page.locator("#items li")).to_have_count(2)
    assert customer.axe_violations() == []
    customer.screenshot("customer")
    page.get_by_role("button", name="Confirm order").click()

    page.wait_for_url(re.compile(r"/app/orders/[0-9a-f]{32}$"))
    order_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator("#progress [aria-current=step]")).to_have_text("In the kitchen")
    expect(page.locator("#chart svg")).to_be_visible()
    page.evaluate("window.notReloaded = true")  # gone if the page ever reloads

    staff = watched()
    board = staff.page
    board.goto("/app/staff")
    staff.sign_in("staff-1")
    kitchen_row = board.locator(f"#kitchen tr[data-order='{order_id}']")
    expect(kitchen_row).to_contain_text("Mango tango (medium: kiwi, mango, pineapple)")
    assert staff.axe_violations() == []
    staff.screenshot("board")
    kitchen_row.get_by_role("button", name=re.compile("^Ready")).click()

    expect(page.locator("#progress [aria-current=step]")).to_have_text("Out for delivery")
    expect(page.locator("#status")).to_have_text("On its way to you...")
    expect(page.get_by_role("button", name="Cancel order")).to_be_disabled()  # nextEvents
    expect(kitchen_row).to_have_count(0)
    delivery_row = board.locator(f"#delivery tr[data-order='{order_id}']")
    delivery_row.get_by_role("button", name=re.compile("^Delivered")).click()

    expect(page.locator("#status")).to_have_text("Enjoy your tropical pizza!")
    expect(page.locator("#progress li.passed")).to_have_count(4)
    expect(page.locator("#timeline li", has_text="Delivered to your door.")).to_have_count(1)
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    expect(delivery_row).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    assert customer.axe_violations() == []
    customer.screenshot("tracker")
    assert customer.problems == [] and staff.problems == []


def test_a_deep_link_with_a_token_opens_the_tracker_signed_in(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#status")).to_have_text("Waiting for the pizza to be baked...")
    assert "#" not in page.url and "token" not in page.url  # the token left the address bar
    expect(page.get_by_text("Signed in as e2e-customer")).to_be_visible()
    page.goto("/app")  # the same browser session keeps the token
    expect(page.get_by_text("Signed in as e2e-customer")).to_be_visible()
    assert customer.problems == []


def test_the_tracker_catches_up_after_a_dropped_connection(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()
    page = customer.page
    gate = {"open": True, "routes": []}

    def route(socket):
        if not gate["open"]:
            socket.close()
            return
        gate["routes"].append(socket)
        socket.connect_to_server()

    page.route_web_socket(re.compile(r"^ws://"), route)
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator("#status")).to_have_text("Waiting for the pizza to be baked...")

    gate["open"] = False
    gate["routes"][-1].close()
    expect(page.locator("#connection")).to_have_attribute("data-status", "reconnecting")
    assert stack.call("POST", f"/kitchen/orders/{order_id}/ready", stack.staff)[0] == 200
    stack.wait_for(
        lambda: stack.call("GET", f"/orders/{order_id}")[1]["status"] == "On its way to you...",
        what="the order out for delivery",
    )
    expect(page.locator("#status")).to_have_text("Waiting for the pizza to be baked...")
    gate["open"] = True
    expect(page.locator("#connection")).to_have_attribute("data-status", "live", timeout=15_000)
    expect(page.locator("#status")).to_have_text("On its way to you...")
    expect(page.locator("#timeline li", has_text="The kitchen baked your order.")).to_have_count(1)


def test_errors_are_said_in_words(stack, watched):
    customer = watched()
    page = customer.page
    page.goto("/app/orders/0123456789abcdef0123456789abcdef#token=not.a.token")
    expect(page.get_by_role("alert")).to_contain_text("You are not signed in")
    expect(page.get_by_role("alert")).to_contain_text("malformed token")

    page.goto(f"/app#token={stack.customer}")
    page.get_by_role("button", name="Add pizza").click()
    expect(page.locator("#items li")).to_have_count(1)
    order_id = page.evaluate("sessionStorage.getItem('tropical.draft')")
    assert stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200  # from elsewhere
    page.get_by_role("button", name="Add pizza").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That is not possible right now: ADD_PIZZA is not allowed")
    expect(alert).to_contain_text("Possible now: cancel.")

    page.route(
        "**/orders/*/cancel",
        lambda route: route.fulfill(
            status=503,
            json={  # as the server answers (tests/runtime/test_orchestrator.py)
                "error": "ServiceUnavailable",
                "message": "storage error: ThrottlingException; nothing was changed",
                "changed": False,
            },
        ),
    )
    page.get_by_role("button", name="Cancel order").click()
    expect(alert).to_have_text(
        "The service is unavailable for a moment: storage error: ThrottlingException; "
        "nothing was changed. Please try again."
    )


def test_a_customer_is_not_shown_the_staff_board(stack, watched):
    customer = watched()
    page = customer.page
    page.goto(f"/app/staff#token={stack.customer}")
    expect(page.get_by_role("alert")).to_contain_text("The board is for staff")
    expect(page.locator("#board")).to_be_hidden()
    assert customer.problems == []
