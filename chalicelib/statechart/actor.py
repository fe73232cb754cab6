"""One actor of the in-memory actor system (``system.py``): a machine's snapshot, its
mailbox and its children, as XState's ``Actor`` keeps them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .machine import Machine
from .snapshot import Snapshot

NOT_STARTED, RUNNING, STOPPED = "not started", "running", "stopped"


@dataclass(slots=True, eq=False)  # compared and hashed by identity, as XState's sessions
class Actor:
    """One running machine: its snapshot, mailbox and children (``refs``, by id)."""

    path: str
    id: str
    src: str
    machine: Machine
    parent: Actor | None
    snapshot: Snapshot | None = None
    state: str = NOT_STARTED
    stopped: bool = False  # handled xstate.stop (its snapshot status is then "stopped")
    fault: str | None = None  # a step or an action raised this
    refs: dict[str, Actor | None] = field(default_factory=dict)
    mailbox: deque[Mapping[str, Any]] = field(default_factory=deque)
    active: bool = False  # the mailbox was started
    flushing: bool = False
    deferred: deque[Callable[[], None]] = field(default_factory=deque)

    @property
    def status(self) -> str:
        """``active``, ``done``, ``error`` (as the snapshot's) or ``stopped``."""
        if self.stopped:
            return "stopped"
        if self.fault is not None or self.snapshot is None:
            return "error"
        return self.snapshot.status

    @property
    def error(self) -> Any:
        return self.fault if self.fault is not None else getattr(self.snapshot, "error", None)


@dataclass(slots=True)
class Resolving:
    """What one step's effects resolved so far: children it stopped (by id), and sends
    waiting for a child the step starts later (by id)."""

    stopped: dict[str, Actor | None] = field(default_factory=dict)
    waiting: dict[str, list[list[Actor | None]]] = field(default_factory=dict)
