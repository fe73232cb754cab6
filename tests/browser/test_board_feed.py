"""The staff board never polls: the work feed (a websocket) announces new and finished
work, and after a dropped connection the board reads the lists once to catch up."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_console import PIZZA


def _new_confirmed_order(stack) -> str:
    status, order = stack.call("POST", "/orders", body={"pizza": PIZZA})
    assert status == 201, order
    assert stack.call("POST", f"/orders/{order['orderId']}/confirm")[0] == 200
    return order["orderId"]


def _http(requests: list) -> list[str]:
    return [r.url for r in requests if r.resource_type != "websocket"]


def test_the_board_shows_a_new_order_with_no_request_in_between(stack, watched):
    staff = watched()
    board = staff.page
    board.goto(f"/app/staff#token={stack.staff}")
    expect(board.locator("#feed")).to_have_attribute("data-status", "live")
    expect(board.locator("#summary")).not_to_be_empty()
    board.wait_for_load_state("networkidle")  # the first reads (on start, on connecting) are over
    requests: list = []
    board.on("request", lambda request: requests.append(request))
    board.wait_for_timeout(2500)  # longer than the 2 s the board used to poll at
    assert _http(requests) == [], "the board polled"

    order_id = _new_confirmed_order(stack)
    row = board.locator(f"#kitchen tr[data-order='{order_id}']")
    expect(row).to_contain_text("Hawaii deluxe (large: pineapple, mango)", timeout=15_000)
    assert _http(requests) == [], "the new order was read, not announced"
    expect(board.locator("#summary")).to_contain_text("in the kitchen")

    row.get_by_role("button", name=re.compile("^Ready")).click()  # the board's own action
    expect(row).to_have_count(0)
    delivery = board.locator(f"#delivery tr[data-order='{order_id}']")
    expect(delivery).to_have_count(1, timeout=15_000)  # announced by the delivery station
    assert staff.axe_violations() == []
    assert staff.problems == []


def test_after_a_dropped_connection_the_board_catches_up(stack, watched):
    staff = watched()
    board = staff.page
    gate = {"open": True, "routes": []}

    def route(socket):
        if not gate["open"]:
            socket.close()
            return
        gate["routes"].append(socket)
        socket.connect_to_server()

    board.route_web_socket(re.compile(r"^ws://.*feed=work"), route)
    board.goto(f"/app/staff#token={stack.staff}")
    expect(board.locator("#feed")).to_have_attribute("data-status", "live")
    gate["open"] = False
    gate["routes"][-1].close()
    expect(board.locator("#feed")).to_have_attribute("data-status", "reconnecting")
    order_id = _new_confirmed_order(stack)  # announced while the board cannot hear it
    stack.wait_for(
        lambda: any(
            o["orderId"] == order_id
            for o in stack.call("GET", "/kitchen/orders", stack.staff)[1]["orders"]
        ),
        what="the order in the kitchen",
    )
    row = board.locator(f"#kitchen tr[data-order='{order_id}']")
    expect(row).to_have_count(0)
    gate["open"] = True
    expect(board.locator("#feed")).to_have_attribute("data-status", "live", timeout=15_000)
    expect(row).to_have_count(1)
    assert staff.problems == []
