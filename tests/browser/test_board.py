"""The staff board in a real browser: staff reject an order, handle a complaint up to its
refund, and the customer's tracker follows along live; errors are said in words."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_console import _confirmed_order, _queue

REASON = "the oven is broken"


def _delivered_order(stack) -> str:
    order_id = _confirmed_order(stack)
    assert stack.call("POST", f"/kitchen/orders/{order_id}/ready", stack.staff)[0] == 200
    stack.wait_for(
        lambda: any(o["orderId"] == order_id for o in _queue(stack, "delivery")),
        what="the order out for delivery",
    )
    assert stack.call("POST", f"/delivery/orders/{order_id}/delivered", stack.staff)[0] == 200
    stack.wait_for(
        lambda: stack.call("GET", f"/orders/{order_id}")[1]["state"] == "done",
        what="the order delivered",
    )
    return order_id


def _board(watched, user: str = "staff-1"):
    staff = watched()
    staff.page.goto("/app/staff")
    staff.sign_in(user)
    return staff


def test_staff_reject_an_order_from_the_board_and_the_tracker_shows_it_live(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator("#status")).to_have_text("Waiting for the pizza to be baked...")

    staff = _board(watched)
    board = staff.page
    row = board.locator(f"#kitchen tr[data-order='{order_id}']")
    row.get_by_role("button", name=re.compile("^Reject")).click()
    dialog = board.get_by_role("dialog", name=f"Reject order {order_id[:8]}")
    expect(dialog).to_be_visible()
    expect(board.get_by_label("Reason for the customer")).to_be_focused()
    dialog.get_by_role("button", name="Reject order").click()  # no reason yet: refused
    expect(dialog.get_by_role("alert")).to_have_text(
        "Reason for the customer is needed (up to 200 characters)."
    )
    assert staff.axe_violations() == []  # the dialog too
    board.get_by_label("Reason for the customer").fill(REASON)
    dialog.get_by_role("button", name="Reject order").click()
    expect(dialog).to_be_hidden()

    expect(page.locator("#status")).to_have_text(f"Order cancelled: {REASON}.")
    expect(page.locator("#progress li.stopped")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel order")).to_be_disabled()
    expect(row).to_have_count(0)
    expect(board.get_by_role("alert")).to_be_hidden()
    assert customer.problems == [] and staff.problems == []


def test_a_complaint_from_the_tracker_is_handled_on_the_board_up_to_its_refund(stack, watched):
    order_id = _delivered_order(stack)
    baking = _confirmed_order(stack)  # so the board's screenshot shows the kitchen too
    customer = watched()
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    panel = page.locator("#complaint")
    expect(panel.get_by_role("button", name="Open complaint")).to_be_visible()
    assert customer.axe_violations() == []
    page.get_by_label("What went wrong").fill("cold pizza")
    page.get_by_label("Details (optional)").fill("The mango was frozen.")
    panel.get_by_role("button", name="Open complaint").click()
    status = page.locator("#complaint-status")
    expect(status).to_have_text("Staff will look at your complaint soon.")
    expect(page.get_by_role("button", name="Withdraw complaint")).to_be_enabled()

    staff = _board(watched)
    board = staff.page
    row = board.locator(f"#complaints tr[data-order='{order_id}']")
    expect(row).to_contain_text("cold pizza")
    expect(row).to_contain_text("new, not claimed yet")
    expect(row).to_contain_text("18.00")  # the order's total, the refund's bound
    expect(row.get_by_role("button", name=re.compile("^Claim"))).to_be_enabled()
    row.get_by_role("button", name=re.compile("^Claim")).click()
    expect(status).to_have_text("Staff are looking into your complaint.")  # live
    expect(row).to_contain_text("claimed (by staff-1)")
    expect(row.get_by_role("button", name=re.compile("^Claim"))).to_be_disabled()  # nextEvents

    row.get_by_role("button", name=re.compile("^Ask")).click()
    board.get_by_label("Question").fill("Which pizza was cold?")
    board.get_by_role("button", name="Send question").click()
    expect(page.locator("#complaint-asked")).to_have_text("We asked: Which pizza was cold?")
    expect(row.get_by_role("button", name=re.compile("^Approve"))).to_be_disabled()  # on hold
    page.get_by_label("Your answer").fill("The Hawaii deluxe.")
    page.get_by_role("button", name="Send answer").click()
    expect(status).to_have_text("Staff are looking into your complaint.")
    expect(page.locator("#complaint-question")).to_be_hidden()
    expect(row).to_contain_text("Answer: The Hawaii deluxe.")

    expect(board.locator(f"#kitchen tr[data-order='{baking}']")).to_have_count(1)
    staff.screenshot("board-complaint")
    row.get_by_role("button", name=re.compile("^Approve")).click()
    amount = board.get_by_label("Refund in cents")
    expect(amount).to_have_value("1800")
    amount.fill("1801")
    board.get_by_role("button", name="Approve refund").click()
    expect(board.get_by_role("dialog").get_by_role("alert")).to_have_text(
        "The refund must be a whole number of cents from 1 to 1800."
    )
    amount.fill("1000")
    board.get_by_role("button", name="Approve refund").click()
    expect(status).to_have_text(re.compile(r"^Approved: "))
    expect(row).to_have_count(0)  # decided: off the worklist

    refund = board.locator(f"#payments tr[data-order='{order_id}.1']")
    expect(refund).to_contain_text("10.00")
    assert staff.axe_violations() == []
    refund.get_by_role("button", name=re.compile("^Settle")).click()
    expect(page.locator("#complaint-state")).to_have_attribute("data-state", "refunded")
    expect(status).to_have_text("Refunded 10.00.")
    expect(page.get_by_role("button", name="Withdraw complaint")).to_be_disabled()
    expect(refund).to_have_count(0)
    assert customer.axe_violations() == []

    board.goto(f"/app/inspect/complaint/{order_id}")  # the complaint's own chart
    expect(board.locator("#chart svg g.active")).to_have_count(1)
    expect(board.locator("#history tr", has_text="REFUND_SUCCEEDED")).to_have_count(1)
    assert staff.axe_violations() == []
    assert customer.problems == [] and staff.problems == []


def test_a_manager_signs_in_and_board_errors_are_said_in_words(stack, watched):
    order_id = _delivered_order(stack)
    opened = stack.call("POST", f"/orders/{order_id}/complaint", body={"reason": "late"})
    assert opened[0] == 201, opened
    manager = _board(watched, "manager-1")
    board = manager.page
    expect(board.get_by_text("You are a manager")).to_be_visible()
    row = board.locator(f"#complaints tr[data-order='{order_id}']")
    expect(row).to_contain_text("late")

    # what the API says when a complaint was escalated, and when it moved on meanwhile
    board.route(
        "**/decision",
        lambda route: route.fulfill(
            status=403,
            json={
                "error": "Forbidden",
                "message": "this complaint was escalated: only a manager may decide it now",
            },
        ),
    )
    row.get_by_role("button", name=re.compile("^Reject")).click()
    board.get_by_label("Reason for the customer").fill("no sign of lateness")
    board.get_by_role("button", name="Reject complaint").click()
    expect(board.locator("#error")).to_contain_text(
        "Only a manager may decide an escalated complaint"
    )
    board.route(
        "**/claim",
        lambda route: route.fulfill(
            status=409,
            json={
                "error": "EventNotAllowed",
                "message": "CLAIM is not allowed in handling.review.active.escalated",
                "nextEvents": ["APPROVE", "REJECT", "ASK_CUSTOMER", "WITHDRAW"],
            },
        ),
    )
    row.get_by_role("button", name=re.compile("^Claim")).click()
    expect(board.locator("#error")).to_have_text(
        "That is not possible right now: CLAIM is not allowed in "
        "handling.review.active.escalated. Possible now: approve, reject, ask the customer, "
        "withdraw."
    )
    board.unroute("**/decision")
    row.get_by_role("button", name=re.compile("^Reject")).click()
    board.get_by_label("Reason for the customer").fill("no sign of lateness")
    board.get_by_role("button", name="Reject complaint").click()
    expect(row).to_have_count(0)
    status, complaint = stack.call("GET", f"/orders/{order_id}/complaint")
    assert status == 200 and complaint["state"] == "rejected"
    assert complaint["decision"]["by"] == "manager-1"
    assert complaint["decision"]["role"] == "manager"
