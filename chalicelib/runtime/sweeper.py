"""The outbox sweeper: sends what requests left pending (crashes, failed publishes).

It walks every shard of the pending index, oldest first within a shard, each page in
turn, and handles each instance (and each shard's read) alone: one that fails is
logged and skipped, the rest are still swept. A run is bounded (instances and
seconds); whatever it leaves waits for the next run, which starts at another shard.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta

from . import clock, journal, store
from .errors import Unavailable
from .orchestrator import dispatch_outbox, time_budget
from .settings import settings
from .workflow import Workflow


def sweep(workflows: Mapping[str, Workflow], grace_seconds: int | None = None) -> int:
    """Send outboxes pending longer than the grace period; returns how many were swept."""
    current = settings()
    grace = current.outbox_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = clock.stamp(clock.current() - timedelta(seconds=grace))
    deadline = time.monotonic() + current.sweep_max_seconds
    shards = store.outbox_shards()
    first = int(time.time() // 60) % len(shards)  # each run starts at another shard
    with time_budget(deadline):  # one slow instance cannot overrun the run
        return _sweep_shards(workflows, shards[first:] + shards[:first], cutoff, deadline)


def _sweep_shards(
    workflows: Mapping[str, Workflow], shards: list[str], cutoff: str, deadline: float
) -> int:
    budget = settings().sweep_max_instances
    swept = 0
    for shard_key in shards:
        try:
            for pk in store.pending(shard_key, cutoff):
                if budget <= 0 or time.monotonic() > deadline:
                    return swept
                budget -= 1
                try:
                    swept += _sweep_one(workflows, pk)
                except Exception as error:  # noqa: BLE001 - one instance must not stop the rest
                    journal.problem("sweeping an outbox failed", instance=pk, error=repr(error))
        except Unavailable as error:  # reading this shard failed: the others still run
            journal.problem("reading a pending shard failed", shard=shard_key, error=str(error))
    return swept


def _sweep_one(workflows: Mapping[str, Workflow], pk: str) -> int:
    name, _, instance_id = pk.partition("#")
    workflow = workflows.get(name)
    if workflow is None:
        journal.problem("pending outbox of an unknown workflow", instance=pk)
        return 0
    instance = store.load(pk)
    if instance is None:
        return 0
    if not instance.outbox:
        store.clear_outbox(pk, [], instance.version, everything=True)  # a stale index entry
        return 0
    dispatch_outbox(workflow, instance_id, instance.outbox, instance.version)
    return 1
