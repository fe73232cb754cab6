"""Every page on a phone (390 x 844 CSS pixels) in Chromium: no sideways scrolling of the
page, touch targets of at least 44 px, no serious or critical axe-core violation, and a
chart that fits its box and zooms and pans with buttons, a drag and a pinch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_board import _delivered_order
from tests.browser.test_console import _confirmed_order

PHONE = {"width": 390, "height": 844}
# what a finger presses: buttons, fields, the navigation, the boxes of the toppings
TARGETS = "button, select, input:not([type=checkbox]), header nav a, .toppings label, .card h2 a"


def _check_phone_page(one, what: str) -> None:
    page = one.page
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{what}: the page scrolls sideways ({width})"
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden")
            .map((e) => [e.outerHTML.slice(0, 60), e.getBoundingClientRect()])
            .filter(([, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
            .map(([html, r]) => `${html} ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        TARGETS,
    )
    assert small == [], f"{what}: touch targets under 44 px"
    assert one.axe_violations() == [], what


def _phone(watched):
    one = watched()
    one.page.set_viewport_size(PHONE)
    return one


@pytest.mark.parametrize("who", ["customer", "staff"])
def test_every_page_fits_a_phone(stack, watched, who):
    order_id = _confirmed_order(stack) if who == "customer" else _delivered_order(stack)
    token = stack.customer if who == "customer" else stack.staff
    one = _phone(watched)
    page = one.page
    pages = {
        "order pizza": ("/app", "#pizza-price"),
        "my orders": ("/app/orders", "#summary:not(:empty)"),
        "tracker": (f"/app/orders/{order_id}", "#chart svg g.active"),
        "board": ("/app/staff", "#summary:not(:empty)"),
        "inspector": (f"/app/inspect/order/{order_id}", "#chart svg g.active"),
    }
    if who == "customer":
        del pages["board"], pages["inspector"]  # staff pages: a customer is told so
    page.goto(f"/app#token={token}")
    for what, (path, ready) in pages.items():
        page.goto(path)
        page.locator(ready).first.wait_for()
        _check_phone_page(one, f"{who}: {what}")
    if who == "staff":
        page.goto("/app/staff")
        page.locator("#summary:not(:empty)").wait_for()
    else:
        page.goto("/app")
        page.get_by_role("button", name="Add pizza").click()  # an order with a line
        expect(page.locator("#items li")).to_have_count(1)
        _check_phone_page(one, "customer: order pizza with a pizza")
    assert one.problems == []


def test_a_delivered_orders_complaint_panel_and_the_boards_dialog_fit_a_phone(stack, watched):
    order_id = _delivered_order(stack)
    customer = _phone(watched)
    customer.page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(customer.page.get_by_role("button", name="Open complaint")).to_be_visible()
    limit = customer.page.locator("#complaint-open .refund-limit")  # what they may get back
    expect(limit).to_have_text("A refund is at most the order's total, 18.00.")
    _check_phone_page(customer, "tracker with the complaint form")
    customer.page.get_by_label("What went wrong").fill("cold")
    customer.page.get_by_role("button", name="Open complaint").click()
    expect(customer.page.locator("#complaint-status")).not_to_be_empty()
    _check_phone_page(customer, "tracker with a complaint")

    staff = _phone(watched)
    board = staff.page
    board.goto(f"/app/staff#token={stack.staff}")
    row = board.locator(f"#complaints tr[data-order='{order_id}']")
    row.get_by_role("button", name=re.compile("^Claim")).click()
    row.get_by_role("button", name=re.compile("^Approve")).click()
    expect(board.get_by_role("dialog")).to_be_visible()
    _check_phone_page(staff, "board with the approve dialog")
    assert customer.problems == [] and staff.problems == []


def _scale(page) -> float:
    return float(page.locator("#chart .chart-view").get_attribute("data-scale"))


def _transform(page) -> str:
    return page.locator("#chart svg").evaluate("(svg) => svg.style.transform")


def _pointer(page, kind: str, points: list[tuple[int, float, float]]) -> None:
    page.locator("#chart .chart-view").evaluate(
        """(view, [kind, points]) => {
            for (const [id, x, y] of points) {
                view.dispatchEvent(new PointerEvent(kind, {
                    pointerId: id, pointerType: "touch", clientX: x, clientY: y,
                    bubbles: true, isPrimary: id === 1 }));
            }
        }""",
        [kind, points],
    )


def test_on_a_phone_the_chart_starts_readable_at_the_current_state_and_zooms(stack, watched):
    order_id = _confirmed_order(stack)
    customer = _phone(watched)
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    active = page.locator("#chart svg g.active")
    expect(active).to_have_count(1)
    view = page.locator("#chart .chart-view").bounding_box()
    label = active.locator("text, span, p").first.bounding_box()
    assert label["height"] >= 12, f"the current state's label is {label['height']} px high"
    inside = view["x"] <= label["x"] and label["x"] + label["width"] <= view["x"] + view["width"]
    assert inside and view["y"] <= label["y"] <= view["y"] + view["height"], (label, view)

    page.get_by_role("button", name="Fit the whole chart in its box").click()
    fit = _scale(page)
    chart = page.locator("#chart svg").bounding_box()
    assert (
        chart["x"] >= view["x"] - 1 and chart["x"] + chart["width"] <= view["x"] + view["width"] + 1
    )
    assert (
        chart["y"] >= view["y"] - 1
        and chart["y"] + chart["height"] <= view["y"] + view["height"] + 1
    )
    page.get_by_role("button", name="Zoom in on the chart").click()
    assert _scale(page) == pytest.approx(fit * 1.5, abs=0.01)
    page.get_by_role("button", name="Zoom out of the chart").click()
    assert _scale(page) == pytest.approx(fit, abs=0.01)

    x, y = view["x"] + view["width"] / 2, view["y"] + 100
    _pointer(page, "pointerdown", [(1, x - 20, y), (2, x + 20, y)])
    _pointer(page, "pointermove", [(1, x - 60, y), (2, x + 60, y)])  # fingers apart
    _pointer(page, "pointerup", [(1, x - 60, y), (2, x + 60, y)])
    assert _scale(page) == pytest.approx(fit * 3, abs=0.02)
    before = _transform(page)
    _pointer(page, "pointerdown", [(1, x, y)])
    _pointer(page, "pointermove", [(1, x - 50, y - 30)])  # one finger drags sideways
    _pointer(page, "pointerup", [(1, x - 50, y - 30)])
    assert _transform(page) != before
    page.get_by_role("button", name="Zoom to the current state").click()
    assert _scale(page) > fit
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert customer.problems == []
