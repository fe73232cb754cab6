"""The console's files: HTML pages and static assets, read once per process.

Every file under ``static/`` is served by its base name (so names are unique there);
anything else is not found. Each answer carries an ETag (a hash of the file) so a
browser revalidates instead of downloading again; a file whose name holds a version
(the vendored Mermaid, a pre-drawn chart) is cached for a year.

Charts are drawn once per definition version, not in every browser: ``make charts``
renders each declared version of each registered workflow with the vendored Mermaid in
Chromium and keeps the SVG under ``static/charts/`` named by a hash of its Mermaid text
(``chart_file``); a page fetches that file and falls back to Mermaid for a chart it
does not find.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"
STATIC = HERE / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
# a name that changes whenever the file does: the vendored Mermaid's version, or a
# pre-drawn chart's content hash (``chart-<16 hex>.svg``)
VERSIONED = re.compile(r"-\d+\.\d+\.\d+\.|^chart-[0-9a-f]{16}\.svg$")
CHART_CLASS_LINE = re.compile(r"^\s*class\s")
SAFE_BASE = re.compile(r"(/[A-Za-z0-9_.~-]+)*")


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as served: its text, Content-Type, ETag and Cache-Control."""

    body: str
    content_type: str
    etag: str
    cache_control: str


def _etag(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _asset(path: Path) -> Asset:
    body = path.read_text(encoding="utf-8")
    etag = _etag(body)
    forever = VERSIONED.search(path.name) is not None
    cache = "public, max-age=31536000, immutable" if forever else "no-cache"
    return Asset(body, TYPES[path.suffix], etag, cache)


@cache
def _static_index() -> dict[str, Path]:
    return {p.name: p for p in STATIC.rglob("*") if p.is_file() and p.suffix in TYPES}


@cache
def static(name: str) -> Asset | None:
    """The static file called ``name``, or None when there is none."""
    path = _static_index().get(name)
    return None if path is None else _asset(path)


@cache
def page(name: str, base: str = "") -> Asset:
    """The HTML page ``pages/<name>.html`` (a name the routes choose, never the caller)
    with its links under ``base``, the path the app is served under ("" or "/<stage>")."""
    if not SAFE_BASE.fullmatch(base):
        raise ValueError(f"not a base path: {base!r}")
    text = (PAGES / f"{name}.html").read_text(encoding="utf-8").replace("{{base}}", base)
    return Asset(text, TYPES[".html"], _etag(text), "no-cache")


def chart_text(mermaid: str) -> str:
    """A chart's Mermaid text without its state marks (``class`` lines): what is drawn
    once per definition version (the pages strip the same lines)."""
    return "\n".join(line for line in mermaid.split("\n") if not CHART_CLASS_LINE.match(line))


def chart_file(mermaid: str) -> str:
    """The name of the pre-drawn SVG of a chart: ``chart-<first 16 hex of the SHA-256 of
    its unmarked text>.svg`` (the pages compute the same name)."""
    return f"chart-{hashlib.sha256(chart_text(mermaid).encode()).hexdigest()[:16]}.svg"
