"""A pure statechart engine with XState v5 semantics.

No I/O, no clock, no randomness, no AWS: ``Machine.transition`` maps a snapshot
and an event to the next snapshot plus the effects the caller must run.
"""

from .actions import assign, cancel, raise_
from .algorithm import InfiniteLoopError
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
    "assign",
    "cancel",
    "raise_",
]
