"""The core: handle one event for one instance. Validate it at the edge (``validation``),
answer what was seen before (``idempotency``), load the instance on the machine of its
version (``instances``; an owner's, a page at a time: ``owned``), decide the next version
and everything its commit writes (``decide``), commit it in one conditional transaction,
settling an ambiguous outcome (``commit``), then run its actions, push its view and send
its outbox (``orchestrator``, which also retries lost races and feeds invoke completions
back). It builds on every adapter below it (``store``, ``messaging``, ``live``,
``versions``, ``ops``, ``shared``) and none of them imports it; the entry points above
call it.
"""

from __future__ import annotations

from . import orchestrator
from .idempotency import answered
from .instances import Incoming, Outcome, client_next_events, history, read, worklist
from .messages import Early
from .orchestrator import dispatch_outbox, send, start, time_budget
from .owned import owned
from .validation import BUS, CLIENT, RUNTIME, TIMER, validate_model, validate_payload

__all__ = [
    "BUS",
    "CLIENT",
    "RUNTIME",
    "TIMER",
    "Early",
    "Incoming",
    "Outcome",
    "answered",
    "client_next_events",
    "dispatch_outbox",
    "history",
    "orchestrator",
    "owned",
    "read",
    "send",
    "start",
    "time_budget",
    "validate_model",
    "validate_payload",
    "worklist",
]
