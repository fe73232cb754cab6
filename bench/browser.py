"""The web console measured in headless Chromium on the local stack; writes its section
of BENCHMARKS.md (the rest of the file is left as it is).

- Commit to screen: for each transition committed while the tracker is open, the time
  from the transition's timestamp (taken just before its commit write) to the moment
  the page drew the pushed view (``performance.mark("drawn:v<version>")``), and to the
  moment its chart was redrawn (``chart:v<version>``). Same machine, same clock.
- Page load: a fresh browser context (empty cache) per load; navigation start to the
  load event, to the page's data shown, and for the tracker to its chart drawn.

Usage: make bench-browser  (or python -m bench.browser [--orders N] [--loads N])
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "## Web console in the browser"
LATENCY_TARGET_MS = 200
LOAD_TARGET_MS = 1000
NO_PREDRAWN = "#no-predrawn-chart"  # a load measured without make charts' files
PIZZA = {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "mango"]}


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def _marks(page: Any, prefix: str) -> dict[int, float]:
    """Epoch milliseconds of the page's ``<prefix>:v<version>`` marks, by version."""
    found = page.evaluate(
        """(prefix) => performance.getEntriesByType("mark")
            .filter((m) => m.name.startsWith(prefix + ":v"))
            .map((m) => [Number(m.name.split(":v")[1]), performance.timeOrigin + m.startTime])""",
        prefix,
    )
    return {version: at for version, at in found}


def _wait_status(page: Any, text: str) -> None:
    page.locator("#status", has_text=text).wait_for(timeout=15_000)


def _wait_queue(stack: Any, station: str, order_id: str) -> None:
    stack.wait_for(
        lambda: any(
            o["orderId"] == order_id
            for o in stack.call("GET", f"/{station}/orders", stack.staff)[1]["orders"]
        ),
        what=f"the order at the {station}",
    )


def _one_order(stack: Any, browser: Any) -> tuple[list[float], list[float]]:
    """Latencies (drawn, chart) of the transitions of one order followed to done."""
    order_id = stack.call("POST", "/orders", body={"pizza": PIZZA})[1]["orderId"]
    stack.call("POST", f"/orders/{order_id}/confirm")
    _wait_queue(stack, "kitchen", order_id)
    context = browser.new_context(base_url=stack.api)
    page = context.new_page()
    page.goto(f"/app/orders/{order_id}#token={stack.customer}")
    page.locator("#connection[data-status=live]").wait_for()
    _wait_status(page, "Waiting for the pizza to be baked")
    page.locator("#chart svg g.active").wait_for()  # a tracker loaded, as a customer has it
    opened = stack.call("GET", f"/orders/{order_id}")[1]["version"]
    stack.call("POST", f"/kitchen/orders/{order_id}/ready", stack.staff)
    _wait_status(page, "On its way to you")
    _wait_queue(stack, "delivery", order_id)
    stack.call("POST", f"/delivery/orders/{order_id}/delivered", stack.staff)
    _wait_status(page, "Enjoy your tropical pizza")
    page.locator("#timeline li", has_text="Delivered to your door.").wait_for()  # last chart drawn
    time.sleep(0.3)
    history = stack.call("GET", f"/orders/{order_id}/history")[1]["transitions"]
    drawn, charts = _marks(page, "drawn"), _marks(page, "chart")
    context.close()
    commits = {t["version"]: _ms(t["time"]) for t in history if t["version"] > opened}
    missing = sorted(set(commits) - set(drawn))
    if missing:
        raise RuntimeError(f"versions {missing} of {order_id} were never drawn")
    return (
        [drawn[v] - at for v, at in commits.items()],
        [charts[v] - at for v, at in commits.items() if v in charts],
    )


def _load(browser: Any, stack: Any, path: str, ready: str) -> dict[str, float]:
    context = browser.new_context(base_url=stack.api)
    page = context.new_page()
    if path.endswith(NO_PREDRAWN):  # as a chart no file was drawn for: Mermaid in the page
        page.route("**/app/static/chart-*.svg", lambda route: route.fulfill(status=404))
        path = path[: -len(NO_PREDRAWN)]
    page.goto(path)
    page.locator(ready).first.wait_for()
    timing = page.evaluate(
        """() => { const n = performance.getEntriesByType("navigation")[0];
                   const mark = (p) => performance.getEntriesByType("mark")
                       .find((m) => m.name.startsWith(p));
                   const shown = mark("drawn:v"), chart = mark("chart:v");
                   return {load: n.loadEventEnd, dom: n.domContentLoadedEventEnd,
                           ready: shown ? shown.startTime : performance.now(),
                           chart: chart ? chart.startTime : null}; }"""
    )
    context.close()
    return timing


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


def measure(orders: int, loads: int) -> dict[str, Any]:
    """Start a local stack and Chromium, measure, stop them; the figures in ms."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import Stack

    stack = Stack("manual")
    if not stack.ready.wait(60):
        stack.stop()
        raise RuntimeError("the local stack did not start:\n" + "\n".join(stack.output))
    try:
        stack.customer, stack.staff = stack.mint("bench-customer"), stack.mint("bench", ["staff"])
        with sync_playwright() as playwright:
            chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
            browser = playwright.chromium.launch(executable_path=chromium)
            drawn: list[float] = []
            charts: list[float] = []
            for _ in range(orders):
                one, chart = _one_order(stack, browser)
                drawn += one
                charts += chart
            order_id = stack.call("POST", "/orders", body={"pizza": PIZZA})[1]["orderId"]
            pages = {
                "tracker (/app/orders/{id})": (
                    f"/app/orders/{order_id}#token={stack.customer}", "#chart svg g.active"),
                "tracker, chart drawn by Mermaid in the browser": (
                    f"/app/orders/{order_id}#token={stack.customer}{NO_PREDRAWN}",
                    "#chart svg g.active"),
                "customer (/app)": (f"/app#token={stack.customer}", "#pizza-form"),
                "my orders (/app/orders)": (f"/app/orders#token={stack.customer}", "#orders li"),
                "staff board (/app/staff)": (f"/app/staff#token={stack.staff}", "#kitchen tr"),
            }  # fmt: skip
            loaded = {
                name: [_load(browser, stack, path, ready) for _ in range(loads)]
                for name, (path, ready) in pages.items()
            }
            browser.close()
    finally:
        stack.stop()
    return {
        "drawn": _summary(drawn),
        "chart": _summary(charts),
        "pages": {
            name: {
                key: _summary([t[key] for t in times])
                for key in ("dom", "load", "ready", "chart")
                if all(t[key] is not None for t in times)
            }
            for name, times in loaded.items()
        },
    }


def section(figures: dict[str, Any], orders: int) -> str:
    """The BENCHMARKS.md section for these figures."""
    d, c = figures["drawn"], figures["chart"]
    lines = [
        SECTION,
        "",
        f"Written by `make bench-browser` on {datetime.now(UTC):%Y-%m-%d}: headless Chromium "
        f"(Debian's package) on the local stack, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end (`bench/browser.py`).",
        "",
        f"**Commit to screen** ({orders} orders followed to `done`, every transition committed "
        "while the tracker was open): from the transition's timestamp, taken just before its "
        "commit write, to the tracker drawing the view the websocket pushed (status, progress, "
        "buttons), and to its chart and timeline redrawn (one history read, then the chart's "
        "marks moved). "
        f"Target: under {LATENCY_TARGET_MS} ms.",
        "",
        "| | transitions | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
        f"| view drawn | {d['n']} | {d['median']:.0f} | {d['p95']:.0f} | {d['max']:.0f} |",
        f"| chart redrawn | {c['n']} | {c['median']:.0f} | {c['p95']:.0f} | {c['max']:.0f} |",
        "",
        "**Page load** (medians, a fresh browser context, so an empty cache, per load): "
        "navigation start to DOM ready, to the load event, to the page's data shown (the "
        "tracker's order, the customer's form, the board's queues), and for the tracker to "
        "its chart drawn (the SVG `make charts` drew once for the order's definition version, "
        "60-70 KiB; Mermaid, 3.6 MB, is not loaded); the row *chart drawn by Mermaid in the "
        "browser* is the same tracker with that file refused, as every load was before "
        "`make charts`, measured in the same run for comparison. "
        f"Target: under {LOAD_TARGET_MS} ms.",
        "",
        "| page | loads | DOM ready ms | load event ms | data shown ms (p95) "
        "| chart drawn ms (p95) |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in figures["pages"].items():
        chart = f"{t['chart']['median']:.0f} ({t['chart']['p95']:.0f})" if "chart" in t else "-"
        lines.append(
            f"| {name} | {t['load']['n']} | {t['dom']['median']:.0f} | {t['load']['median']:.0f} "
            f"| {t['ready']['median']:.0f} ({t['ready']['p95']:.0f}) | {chart} |"
        )
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    """Replace this section of BENCHMARKS.md (or append it), leaving the rest alone."""
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    start = current.find(SECTION)
    if start < 0:
        BENCHMARKS.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = current.find("\n## ", start + len(SECTION))
    rest = "" if end < 0 else current[end:]
    BENCHMARKS.write_text(current[:start] + text + rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-browser")
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args(argv)
    figures = measure(args.orders, args.loads)
    text = section(figures, args.orders)
    write(text)
    sys.stdout.write(text)
    within = figures["drawn"]["p95"] < LATENCY_TARGET_MS and all(
        t["ready"]["median"] < LOAD_TARGET_MS
        and ("chart" not in t or t["chart"]["median"] < LOAD_TARGET_MS or "Mermaid" in name)
        for name, t in figures["pages"].items()
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
