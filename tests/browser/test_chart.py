"""The chart is drawn once per definition version: the tracker fetches its SVG and never
loads Mermaid; a chart not drawn yet is still drawn, by Mermaid in the browser."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_console import _confirmed_order


def test_the_tracker_shows_the_predrawn_chart_without_loading_mermaid(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()
    page = customer.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#chart svg#statechart g.active")).to_have_count(1)
    assert "waitingForPizzaToBeBaked" in page.locator("#chart g.active").get_attribute("id")
    assert [u for u in asked if "/app/static/chart-" in u], asked
    assert not [u for u in asked if "mermaid" in u], "Mermaid was loaded"
    assert customer.problems == []


def test_a_chart_not_drawn_yet_is_drawn_by_mermaid_in_the_browser(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()
    page = customer.page
    page.route("**/app/static/chart-*.svg", lambda route: route.fulfill(status=404, body=""))
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    expect(page.locator("#chart svg#statechart")).to_have_count(0)  # Mermaid's own id
    assert "waitingForPizzaToBeBaked" in page.locator("#chart g.active").get_attribute("id")


def test_no_two_labels_of_the_chart_overlap(stack, watched):
    order_id = _confirmed_order(stack)
    customer = watched()  # 1400 px wide
    page = customer.page
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    expect(page.locator("#chart svg g.active")).to_have_count(1)
    boxes = page.evaluate(
        """() => [...document.querySelectorAll(
                "#chart .edgeLabel .label, #chart g.node .label")]
            .map((e) => [e.textContent.trim(), e.getBoundingClientRect().toJSON()])
            .filter(([text, r]) => text && r.width > 0 && r.height > 0)"""
    )
    assert len(boxes) > 30, boxes

    def overlap(a, b):
        width = min(a["right"], b["right"]) - max(a["left"], b["left"])
        height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
        return width > 1 and height > 1

    clashes = [
        (one[0], other[0])
        for i, one in enumerate(boxes)
        for other in boxes[i + 1 :]
        if overlap(one[1], other[1])
    ]
    assert clashes == []
