"""The actor system's timers: XState's scheduler, on the system's own clock.

A timer belongs to the actor that set it and has that actor's id for it (an
``after`` delay's event type, or a delayed send's ``id``); cancelling or stopping
the actor drops it. Due timers fire in due order, ties in the order they were set.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class Timer:
    """One pending timer: ``event`` goes from ``source`` to ``target`` at ``due``."""

    due: float
    seq: int
    source: Any
    send_id: str
    target: Any
    event: Mapping[str, Any]


class Scheduler:
    """Timers by (source, id). With ``replace`` (the default) a timer set again under a
    pending id replaces it; without, as in XState 5, both fire and only the newer one
    can be cancelled."""

    def __init__(self, replace: bool = True) -> None:
        self.now = 0.0
        self._replace = replace
        self._pending: dict[int, Timer] = {}
        self._latest: dict[tuple[Hashable, str], int] = {}  # XState's timerMap
        self._count = 0

    def schedule(
        self, source: Hashable, send_id: str, delay: float, target: Any, event: Mapping
    ) -> None:
        """Set a timer that delivers ``event`` to ``target`` ``delay`` ms from now."""
        if self._replace:
            self.cancel(source, send_id)
        self._count += 1
        timer = Timer(self.now + delay, self._count, source, send_id, target, event)
        self._pending[timer.seq] = timer
        self._latest[(source, send_id)] = timer.seq

    def cancel(self, source: Hashable, send_id: str) -> None:
        """Drop the (newest) timer ``source`` set under ``send_id``, if pending."""
        seq = self._latest.pop((source, send_id), None)
        if seq is not None:
            self._pending.pop(seq, None)

    def cancel_all(self, source: Hashable) -> None:
        """Drop the timers ``source`` set (XState's ``cancelAll``: the newest per id)."""
        for owner, send_id in [key for key in self._latest if key[0] is source]:
            self.cancel(owner, send_id)

    def next_due(self, until: float) -> Timer | None:
        """Take the first timer due by ``until`` and move the clock to it; None if none."""
        due = [t for t in self._pending.values() if t.due <= until]
        if not due:
            return None
        timer = min(due, key=lambda t: (t.due, t.seq))
        del self._pending[timer.seq]
        self._latest.pop((timer.source, timer.send_id), None)
        self.now = timer.due
        return timer

    @property
    def pending(self) -> list[Timer]:
        """Every pending timer, in firing order."""
        return sorted(self._pending.values(), key=lambda t: (t.due, t.seq))
