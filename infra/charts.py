"""Draw every declared version of every registered workflow's chart once, in Chromium with
the console's own Mermaid, into ``chalicelib/web/static/charts/`` (``make charts``).

The tracker and the inspector then fetch a small SVG instead of loading Mermaid (3.6 MB)
and laying the chart out in every browser on every visit. A file is named by a hash of
the chart's text (``chalicelib.web.assets.chart_file``), so a changed chart is a new file;
files of charts no longer declared are removed. tests/web/test_charts.py fails when a
declared version has no file (run ``make charts``), and ``--check`` says the same.

Usage: python -m infra.charts [--check]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from chalicelib.registry import WORKFLOWS
from chalicelib.web.assets import STATIC, chart_file, chart_text

CHARTS = STATIC / "charts"
MERMAID = next((STATIC / "vendor").glob("mermaid-*.min.js"))
# Mermaid's ELK layout (npm @mermaid-js/layout-elk, installed with the browser tests'
# packages): orthogonal edges and labels placed apart, where Mermaid's default (dagre)
# lays labels over each other around `compensating`. Needed here only: pages get SVG.
ROOT = Path(__file__).resolve().parent.parent
ELK = ROOT / "tests" / "browser" / "node_modules" / "@mermaid-js" / "layout-elk" / "dist"
ORIGIN = "http://charts.invalid"  # served to the page from ELK's folder, never fetched
# the id the pages give a pre-drawn chart's SVG (its elements' ids start with it)
SVG_ID = "statechart"
# console.js initialises Mermaid so for a chart it has to draw itself, with dagre
RENDER = """async ([elk, id, text]) => {
    mermaid.registerLayoutLoaders((await import(elk)).default);
    mermaid.initialize({
        startOnLoad: false, securityLevel: "strict", theme: "default", layout: "elk" });
    return (await mermaid.render(id, text)).svg;
}"""


def declared() -> dict[str, str]:
    """file name -> chart text, for each declared version of each registered workflow."""
    charts = {}
    for workflow in WORKFLOWS.values():
        for version in workflow.versions.by_number.values():
            text = chart_text(version.machine.to_mermaid())
            charts[chart_file(text)] = text
    return charts


def missing() -> list[str]:
    """The files of declared charts that are not drawn yet."""
    return sorted(name for name in declared() if not (CHARTS / name).exists())


def _serve(route) -> None:
    """Answer the drawing page's requests from ELK's folder (ES modules need http)."""
    path = route.request.url[len(ORIGIN) + 1 :]
    if path == "index.html":
        route.fulfill(body="<!doctype html><html><body></body></html>", content_type="text/html")
        return
    file = (ELK / path).resolve()
    if ELK.resolve() not in file.parents or not file.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(body=file.read_bytes(), content_type="text/javascript")


def draw(charts: dict[str, str]) -> None:
    """Render ``charts`` in headless Chromium and write them; remove stale ones."""
    from playwright.sync_api import sync_playwright

    CHARTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page()
        page.route(f"{ORIGIN}/**", _serve)
        page.goto(f"{ORIGIN}/index.html")
        page.add_script_tag(path=str(MERMAID))
        for name, text in sorted(charts.items()):
            svg = page.evaluate(RENDER, [f"{ORIGIN}/mermaid-layout-elk.esm.min.mjs", SVG_ID, text])
            (CHARTS / name).write_text(svg + "\n", encoding="utf-8")
            print(f"{name}  {len(svg) // 1024} KiB")
        browser.close()
    for stale in CHARTS.glob("chart-*.svg"):
        if stale.name not in charts:
            stale.unlink()
            print(f"removed {stale.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which are missing")
    args = parser.parse_args(argv)
    if args.check:
        absent = missing()
        for name in absent:
            print(f"not drawn: {name} (run make charts)")
        return 1 if absent else 0
    draw(declared())
    return 0


if __name__ == "__main__":
    sys.exit(main())
