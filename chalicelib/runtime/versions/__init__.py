"""A workflow as the runtime knows it, version by version: ``Workflow`` (its machine, the
events clients and the bus may send, the ``Command`` each invoke publishes, its view)
and ``Versions`` (every declared definition with its content hash, the lock that pins
them, the pure migrations from one to the next, the summaries a history record keeps).
``replay`` checks stored histories against a candidate definition; it is imported on
demand by the offline check (``entrypoints.check_versions``), never at a cold start.
Pure, and the bottom of the runtime: it imports the statechart engine and no other part
(``shared.wiring`` names ``Workflow`` in type hints), so every part may build on it.
"""

from __future__ import annotations

from .versions import (
    DefinitionChanged,
    Migration,
    MigrationRefused,
    Upgrade,
    Version,
    Versions,
    chart_hash,
    check_lock,
    check_runnable,
    command_summary,
    counter_changes,
    counter_shard,
    effect_summary,
    read_lock,
    record_lock,
    snapshot_digest,
)
from .workflow import (
    MAX_INSTANCE_ID,
    RESERVED_FIELDS,
    START,
    STOP,
    Command,
    Workflow,
    failed_start,
    is_instance_id,
    link,
    state_key,
    timers_dropped,
)

__all__ = [
    "MAX_INSTANCE_ID",
    "RESERVED_FIELDS",
    "START",
    "STOP",
    "Command",
    "DefinitionChanged",
    "Migration",
    "MigrationRefused",
    "Upgrade",
    "Version",
    "Versions",
    "Workflow",
    "chart_hash",
    "check_lock",
    "check_runnable",
    "command_summary",
    "counter_changes",
    "counter_shard",
    "effect_summary",
    "failed_start",
    "is_instance_id",
    "link",
    "read_lock",
    "record_lock",
    "snapshot_digest",
    "state_key",
    "timers_dropped",
]
