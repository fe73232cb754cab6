"""The runtime's clock, and timestamps as the runtime stores them: UTC, ISO 8601,
milliseconds, a ``Z`` suffix.

One format everywhere, so stored times sort as strings (the pending index relies on it).
Every "now" the runtime uses for events, timers and the sweeper comes from ``current()``;
tests swap its source (``use``) to run hours of timers in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Source = Callable[[], datetime]


def _wall() -> datetime:
    return datetime.now(UTC)


_source: Source = _wall


def use(source: Source | None) -> None:
    """Take the time from ``source`` (an aware datetime each call); None restores the
    wall clock."""
    global _source
    _source = source or _wall


def current() -> datetime:
    """The current time, as an aware datetime."""
    return _source()


def stamp(moment: datetime) -> str:
    """``moment`` as stored: ``2026-11-29T01:52:02.116Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(text: str) -> datetime:
    """A stored timestamp back as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> str:
    """The current time, as stored."""
    return stamp(current())
