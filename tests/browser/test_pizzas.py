"""Orders on version 3 of the order chart (one ``pizza`` child workflow per pizza) in a
real browser: the customer's tracker shows each pizza's progress from websocket pushes
alone, and a pizza burnt twice stops the others and says why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.test_phone import PHONE, _check_phone_page
from tests.e2e.conftest import Stack, _start

PIZZAS = [
    {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "mango"]},
    {"name": "Kiwi", "size": "small", "toppings": []},
    {"name": "Papaya", "size": "medium", "toppings": ["mango"]},
]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The local stack with new orders on version 3 (two oven slots per order), its
    stations waiting for staff."""
    stack = _start("manual", env={"ORDER_START_VERSION": "3", "ORDER_OVEN_SLOTS": "2"})
    yield stack
    assert stack.stop() == 0, "\n".join(stack.output[-20:])


def confirmed_order(stack, pizzas: list[dict] = PIZZAS) -> str:
    """An order of ``pizzas``, confirmed: its first K pizzas go into the oven."""
    status, order = stack.call("POST", "/orders", body={"pizza": pizzas[0]})
    assert status == 201, order
    order_id = order["orderId"]
    for pizza in pizzas[1:]:
        assert stack.call("POST", f"/orders/{order_id}/pizzas", body={"pizza": pizza})[0] == 200
    assert stack.call("POST", f"/orders/{order_id}/confirm")[0] == 200
    return order_id


def bake(stack, order_id: str, item_id: str, attempt: int = 1) -> dict:
    """The oven's work for one bake of a pizza, once the oven holds it."""

    def held():
        work = stack.call("GET", "/stations/oven/work", stack.staff)[1]["work"]
        return next(
            (
                w
                for w in work
                if w["orderId"] == order_id and w["itemId"] == item_id and w["attempt"] == attempt
            ),
            None,
        )

    return stack.wait_for(held, what=f"{item_id} (bake {attempt}) in the oven")


def finish(stack, work: dict) -> None:
    status, body = stack.call("POST", f"/stations/oven/work/{work['bakeId']}/finished", stack.staff)
    assert status == 200, body


def burn(stack, work: dict, reason: str) -> None:
    path = f"/stations/oven/work/{work['bakeId']}/rejected"
    status, body = stack.call("POST", path, stack.staff, {"reason": reason})
    assert status == 200, body


def _order_reads(requests: list, order_id: str) -> list[str]:
    """HTTP reads of the order or of any instance (its history, read on each of the
    order's own commits for the timeline, is not one)."""
    paths = [urlsplit(r.url).path for r in requests if r.resource_type != "websocket"]
    return [p for p in paths if p == f"/orders/{order_id}" or p.startswith("/workflows/")]


def _tracker(watched, stack, order_id: str):
    customer = watched()
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    return customer


def _progress(page, item_id: str):
    return page.locator(f"#items li[data-item='{item_id}'] .pizza-progress")


def test_the_tracker_shows_each_pizza_baked_live_from_pushes_only(stack, watched):
    order_id = confirmed_order(stack)
    first, second = bake(stack, order_id, "item-1"), bake(stack, order_id, "item-2")
    customer = _tracker(watched, stack, order_id)
    page = customer.page
    expect(_progress(page, "item-1")).to_have_text("In the oven")
    expect(_progress(page, "item-2")).to_have_text("In the oven")
    expect(_progress(page, "item-3")).to_have_text("Waiting for a free oven")  # K = 2
    expect(page.locator("#pizza-summary")).to_have_text(
        "Pizzas: 0 of 3 baked, 2 in the oven, 1 waiting for a free oven."
    )
    expect(page.locator("#progress [aria-current=step]")).to_have_text("In the kitchen")
    assert customer.axe_violations() == []
    page.wait_for_load_state("networkidle")
    requests: list = []
    page.on("request", lambda request: requests.append(request))

    finish(stack, first)
    expect(_progress(page, "item-1")).to_have_text("Baked")
    expect(_progress(page, "item-1")).to_have_attribute("data-progress", "baked")
    expect(_progress(page, "item-3")).to_have_text("In the oven")  # the slot it freed
    customer.screenshot("tracker-pizzas")
    finish(stack, second)
    finish(stack, bake(stack, order_id, "item-3"))
    expect(page.locator("#pizza-summary")).to_have_text("Pizzas: 3 of 3 baked.")
    expect(page.locator("#progress [aria-current=step]")).to_have_text("Out for delivery")
    assert _order_reads(requests, order_id) == [], "the tracker read what it was pushed"
    assert customer.axe_violations() == []

    page.set_viewport_size(PHONE)
    _check_phone_page(customer, "tracker with its pizzas baked")
    customer.screenshot("tracker-pizzas-390")
    assert customer.problems == []


def test_a_pizza_burnt_twice_stops_the_others_and_the_tracker_says_why(stack, watched):
    order_id = confirmed_order(stack)
    customer = _tracker(watched, stack, order_id)
    page = customer.page
    burn(stack, bake(stack, order_id, "item-1"), "dropped on the floor")
    again = bake(stack, order_id, "item-1", attempt=2)  # a burnt pizza is baked again once
    expect(_progress(page, "item-1")).to_have_text("In the oven")
    burn(stack, again, "burnt to a crisp")

    expect(_progress(page, "item-1")).to_have_text("Could not be baked: burnt to a crisp")
    expect(_progress(page, "item-2")).to_have_text("Stopped: not baked")
    expect(_progress(page, "item-3")).to_have_text("Stopped: not baked")
    expect(page.locator("#status")).to_have_text(
        "Order cancelled: the pizza Hawaii deluxe could not be baked (burnt to a crisp)."
    )
    expect(page.locator("#pizza-summary")).to_have_text(
        "Pizzas: 0 of 3 baked, 1 could not be baked, 2 stopped."
    )
    expect(page.locator("#progress li.stopped")).to_have_text("Cancelled")
    assert customer.axe_violations() == []
    page.set_viewport_size(PHONE)
    _check_phone_page(customer, "tracker with a pizza that could not be baked")
    assert customer.problems == []


def test_a_pizzas_progress_never_goes_back_when_pushes_arrive_out_of_order(stack, watched):
    """Pushes are not ordered: a view read before a pizza was baked may arrive after one
    read since. The same pizza instance never goes back; a new instance (the bake state
    entered again) starts afresh."""
    one = watched()
    one.page.goto("/app")
    progress = one.page.evaluate(
        """async () => {
            const { pizzaProgress } = await import("/app/static/pizzas.js");
            const items = [{ itemId: "item-1" }];
            const pizzas = [{ itemId: "item-1", state: "inOven", output: null }];
            const view = (id, value, status) => ({
                items, pizzas,
                children: [{ actor: "item-1", workflow: "pizza", id, value, status }],
            });
            const baked = pizzaProgress(view("p1", "baked", "done"));
            const late = pizzaProgress(view("p1", "baking.inOven", "active"), baked);
            const fresh = pizzaProgress(view("p2", "queued", "active"), late);
            const first = pizzaProgress(view("p3", null, "active"));
            const none = pizzaProgress({ items, state: "bakePizza" });
            return [baked, late, fresh, first].map((p) => p[0].words).concat([none.length]);
        }"""
    )
    assert progress == ["Baked", "Baked", "Waiting for a free oven", "Waiting for a free oven", 0]


def test_the_inspector_walks_an_order_and_its_pizzas_each_on_its_own_chart(stack, watched):
    order_id = confirmed_order(stack)
    first = bake(stack, order_id, "item-1")
    pizza_id = first["pizzaId"]
    staff = watched()
    page = staff.page
    page.goto(f"/app/inspect/order/{order_id}#token={stack.staff}")
    tree = page.locator("#tree")
    expect(tree.locator("[aria-current=page]")).to_have_text(f"order {order_id[:8]} (this one)")
    expect(tree.get_by_role("link")).to_have_text(["pizza item-1", "pizza item-2", "pizza item-3"])
    child = tree.locator(f"li[data-instance='{pizza_id}']")
    expect(child).to_contain_text("baking.inOven · active")
    active = page.locator("#chart svg g.active")
    expect(active).to_have_attribute("id", re.compile("-state-s_order_bakePizza-"))
    expect(page.locator("#connection")).to_have_text("Live: changes show as they happen.")

    finish(stack, first)  # the pizza's commit pushes the order's view to its followers
    expect(child).to_contain_text("baked · done")
    assert staff.axe_violations() == []

    child.get_by_role("link", name="pizza item-1").click()
    page.wait_for_url(f"**/app/inspect/pizza/{pizza_id}")
    expect(page.locator("#title")).to_have_text(f"pizza item-1 of order {order_id[:8]}")
    expect(active).to_have_attribute("id", re.compile("-state-s_pizza_baked-"))  # its own chart
    expect(tree.locator("[aria-current=page]")).to_have_text("pizza item-1 (this one)")
    parent = tree.get_by_role("link", name=f"order {order_id[:8]}")  # a pizza shows its parent
    expect(parent).to_have_count(1)
    expect(tree.get_by_role("link")).to_have_text(
        [f"order {order_id[:8]}", "pizza item-2", "pizza item-3"]  # and its siblings
    )
    expect(page.locator("#history tr", has_text="PIZZA_BAKED")).to_have_count(1)
    assert staff.axe_violations() == []
    page.set_viewport_size(PHONE)
    _check_phone_page(staff, "inspector of a pizza")
    staff.screenshot("inspector-pizza-390", full_page=False)

    parent.click()
    page.wait_for_url(f"**/app/inspect/order/{order_id}")
    expect(active).to_have_attribute("id", re.compile("-state-s_order_bakePizza-"))
    expect(tree.locator("[aria-current=page]")).to_have_text(f"order {order_id[:8]} (this one)")
    assert staff.problems == []


def test_staff_bake_the_pizzas_one_by_one_on_the_board(stack, watched):
    order_id = confirmed_order(stack)
    first, second = bake(stack, order_id, "item-1"), bake(stack, order_id, "item-2")
    customer = _tracker(watched, stack, order_id)
    staff = watched()
    board = staff.page
    board.goto("/app/staff")
    staff.sign_in("staff-1")
    expect(board.locator("#feed")).to_have_attribute("data-status", "live")
    row = board.locator(f"#oven tr[data-bake='{first['bakeId']}']")
    expect(row).to_contain_text("Hawaii deluxe (large: pineapple, mango)")
    expect(row).to_contain_text("first bake")
    expect(board.locator("#summary")).to_contain_text("pizzas in the oven")
    assert staff.axe_violations() == []
    row.get_by_role("button", name=re.compile("^Baked")).click()
    expect(row).to_have_count(0)
    expect(_progress(customer.page, "item-1")).to_have_text("Baked")
    third = board.locator(f"#oven tr[data-bake='{order_id}.item-3.1']")  # its slot freed
    expect(third).to_contain_text("Papaya (medium: mango)")

    row = board.locator(f"#oven tr[data-bake='{second['bakeId']}']")
    row.get_by_role("button", name=re.compile("^Burnt")).click()
    dialog = board.get_by_role("dialog", name=f"Burnt: pizza item-2 of order {order_id[:8]}")
    expect(board.get_by_label("What went wrong")).to_be_focused()
    dialog.get_by_role("button", name="Report burnt").click()  # no reason yet: refused
    expect(dialog.get_by_role("alert")).to_have_text(
        "What went wrong is needed (up to 200 characters)."
    )
    assert staff.axe_violations() == []
    board.get_by_label("What went wrong").fill("dropped on the floor")
    dialog.get_by_role("button", name="Report burnt").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)
    again = board.locator(f"#oven tr[data-bake='{order_id}.item-2.2']")
    expect(again).to_contain_text("baked again (bake 2)")  # a burnt pizza is baked again once
    expect(_progress(customer.page, "item-2")).to_have_text("In the oven")
    staff.screenshot("board-oven")
    board.set_viewport_size(PHONE)
    _check_phone_page(staff, "board with pizzas in the oven")

    again.get_by_role("button", name=re.compile("^Baked")).click()
    third.get_by_role("button", name=re.compile("^Baked")).click()
    expect(customer.page.locator("#pizza-summary")).to_have_text("Pizzas: 3 of 3 baked.")
    expect(board.locator(f"#oven tr[data-bake^='{order_id}.']")).to_have_count(0)
    expect(board.locator(f"#delivery tr[data-order='{order_id}']")).to_have_count(1)
    assert customer.problems == [] and staff.problems == []
