"""Entry points: where something from outside enters the runtime, each taking the registry
of workflows by name and calling the core. ``intake`` takes events from the bus and
durable timers, ``sweeper`` re-drives outboxes left pending, ``follow`` connects and
disconnects websocket followers, ``callers`` turns a client's request into an event,
``inspection`` shows any instance as an operator sees it, ``definitions`` a workflow's
chart, versions and instances in flight, and ``check_versions`` is the offline replay
check (``python -m chalicelib.runtime.entrypoints.check_versions``; not imported here,
so not at a cold start). The top of the runtime: nothing in it imports this package.
"""

from __future__ import annotations

from . import definitions, follow, inspection, intake, sweeper
from .callers import client_event, client_incoming

__all__ = [
    "client_event",
    "client_incoming",
    "definitions",
    "follow",
    "inspection",
    "intake",
    "sweeper",
]
