"""Timestamps as the runtime stores them: UTC, ISO 8601, milliseconds, a ``Z`` suffix.

One format everywhere, so stored times sort as strings (the pending index relies on it).
"""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(moment: datetime) -> str:
    """``moment`` as stored: ``2026-11-29T01:52:02.116Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(text: str) -> datetime:
    """A stored timestamp back as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> str:
    """The current time, as stored."""
    return stamp(datetime.now(UTC))
