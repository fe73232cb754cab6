"""Messaging: the SNS/SQS side of the runtime. ``bus`` publishes CloudEvents 1.0
envelopes to the topic and parses what the queues deliver, ``timers`` makes XState
``after`` delays durable as SQS delay messages (chained past 15 minutes), and
``outbox`` turns a step's effects into the messages committed with it and sends them
after the commit in commit order. It builds on ``store`` (the outbox lives on the
instance item), ``versions``, ``ops`` and ``shared``; the entry points that take
messages in (``intake``, ``sweeper``) use the core and so live in ``entrypoints``.
Callers use the modules (``bus.publish``), so a test can stand in for one call.
"""

from __future__ import annotations

from . import bus, outbox, timers

__all__ = ["bus", "outbox", "timers"]
