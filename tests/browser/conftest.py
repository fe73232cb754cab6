"""Browser tests: the local stack as `make run` starts it, driven in headless Chromium.

Playwright for Python drives Debian's ``chromium`` (``CHROMIUM`` names another
binary); ``make install`` installs both. axe-core comes from ``npm ci`` here.
Screenshots go to ``tests/browser/artifacts/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack, _start

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
MISSING = "the browser tests need {what}: run `make install` (it installs {how})"


def _require() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail(MISSING.format(what="playwright", how="requirements-dev.txt"), pytrace=False)
    if not Path(CHROMIUM).exists():
        how = "Debian's chromium with apt-get, or set CHROMIUM=<path of a Chromium>"
        pytest.fail(MISSING.format(what=f"Chromium at {CHROMIUM}", how=how), pytrace=False)
    if not AXE.exists():
        pytest.fail(MISSING.format(what="axe-core", how="npm ci in tests/browser"), pytrace=False)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A local stack whose stations wait for staff (the board finishes orders)."""
    stack = _start("manual")
    yield stack
    assert stack.stop() == 0, "\n".join(stack.output[-20:])


class Watched:
    """A browser context with one page whose console errors and uncaught exceptions
    are collected (``problems``)."""

    def __init__(self, browser: Any, stack: Stack) -> None:
        self.context = browser.new_context(
            base_url=stack.api, viewport={"width": 1400, "height": 900}
        )
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}")
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def sign_in(self, user: str) -> None:
        """Sign in with the local stack's development sign-in, as a person would."""
        self.page.get_by_label("Development sign-in as").select_option(user)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_text(f"Signed in as {user}").wait_for()

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        """The page (all of it, or what the viewport shows) as ``artifacts/<name>.png``."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def axe_violations(self) -> list[str]:
        """Serious and critical axe-core violations on the page as it is now."""
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return [
            f"{v['impact']}: {v['id']} ({v['help']}) at "
            + json.dumps([n["target"] for n in v["nodes"]][:5])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]


@pytest.fixture
def watched(browser: Any, stack: Stack) -> Iterator[Any]:
    """Make watched browser contexts; each is closed after the test."""
    made: list[Watched] = []

    def make() -> Watched:
        made.append(Watched(browser, stack))
        return made[-1]

    yield make
    for one in made:
        one.context.close()
