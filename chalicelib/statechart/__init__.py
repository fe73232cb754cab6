"""A pure statechart engine with XState v5 semantics.

No I/O, no clock, no randomness, no AWS: ``Machine.transition`` maps a snapshot
and an event to the next snapshot plus the effects the caller must run.

Every step matches XState 5's ``transition()`` (state value, context, status,
output, the ordered effects, tags, meta, ``can``), both for a snapshot restored
from its JSON form (as XState's ``restoreSnapshot`` does) and for snapshots chained
in memory (as one XState actor does; the two can differ, see ``Machine``).

One documented choice departs from the pure ``transition()``: a snapshot whose
status is ``done`` or ``error`` handles no event (``handled`` is False, no effects),
as an XState actor behaves once it has stopped; XState's pure ``transition()``
would still move a done snapshot on a root transition.
"""

from .actions import (
    assign,
    cancel,
    enqueue_actions,
    raise_,
    send_parent,
    send_to,
    spawn_child,
    stop_child,
)
from .algorithm import InfiniteLoopError, UnknownActorError
from .definition import MachineDefinitionError
from .machine import Machine
from .snapshot import Effect, Snapshot, SnapshotError, Step

__all__ = [
    "Effect",
    "InfiniteLoopError",
    "Machine",
    "MachineDefinitionError",
    "Snapshot",
    "SnapshotError",
    "Step",
    "UnknownActorError",
    "assign",
    "cancel",
    "enqueue_actions",
    "raise_",
    "send_parent",
    "send_to",
    "spawn_child",
    "stop_child",
]
