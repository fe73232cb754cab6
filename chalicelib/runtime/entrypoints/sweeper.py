"""The outbox sweeper: sends what requests left pending (crashes, failed publishes).

It walks every shard of the pending index, oldest first within a shard, each page in
turn, and handles each instance (and each shard's read) alone: one that fails is
logged and skipped, the rest are still swept. A run is bounded (instances and
seconds); whatever it leaves waits for the next run, which starts at another shard.

Each sweep counts ``OutboxPending``, the instances it found pending past the grace
period, and ``OutboxSwept``, those it sent; the scheduled ``run`` first measures
``OutboxOldestAgeSeconds``, how long the oldest pending outbox has waited (one
single-item read per shard, 0 when none is pending).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from .. import store
from ..core import dispatch_outbox, time_budget
from ..ops import journal, metrics
from ..shared import Unavailable, clock, settings
from ..versions import Workflow


def run(workflows: Mapping[str, Workflow]) -> int:
    """The scheduled job: measure the oldest pending outbox, then sweep; returns how many
    were swept."""
    metrics.record("OutboxOldestAgeSeconds", "Seconds", oldest_age(store.outbox_shards()))
    return sweep(workflows)


def sweep(workflows: Mapping[str, Workflow], grace_seconds: int | None = None) -> int:
    """Send outboxes pending longer than the grace period; returns how many were swept."""
    current = settings()
    grace = current.outbox_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = clock.stamp(clock.current() - timedelta(seconds=grace))
    deadline = time.monotonic() + current.sweep_max_seconds
    shards = store.outbox_shards()
    first = int(time.time() // 60) % len(shards)  # each run starts at another shard
    with time_budget(deadline):  # one slow instance cannot overrun the run
        found, swept = _sweep_shards(workflows, shards[first:] + shards[:first], cutoff, deadline)
    metrics.count("OutboxPending", found)
    metrics.count("OutboxSwept", swept)
    return swept


def oldest_age(shards: list[str], now: datetime | None = None) -> float:
    """Seconds since the oldest outbox in these shards became pending; 0 when none is
    (a shard that cannot be read is logged and left out)."""
    oldest = None
    for shard_key in shards:
        try:
            since = store.oldest_pending(shard_key)
        except Unavailable as error:
            journal.problem("reading a pending shard failed", shard=shard_key, error=str(error))
            continue
        if since is not None and (oldest is None or since < oldest):
            oldest = since
    if oldest is None:
        return 0.0
    return max(0.0, ((now or clock.current()) - clock.parse(oldest)).total_seconds())


def _sweep_shards(
    workflows: Mapping[str, Workflow], shards: list[str], cutoff: str, deadline: float
) -> tuple[int, int]:
    """How many pending instances were found, and how many of them were swept."""
    budget = settings().sweep_max_instances
    found = swept = 0
    for shard_key in shards:
        try:
            for pk in store.pending(shard_key, cutoff):
                if budget <= 0 or time.monotonic() > deadline:
                    return found, swept
                budget -= 1
                found += 1
                try:
                    swept += _sweep_one(workflows, pk)
                except Exception as error:  # noqa: BLE001 - one instance must not stop the rest
                    journal.problem("sweeping an outbox failed", instance=pk, error=repr(error))
        except Unavailable as error:  # reading this shard failed: the others still run
            journal.problem("reading a pending shard failed", shard=shard_key, error=str(error))
    return found, swept


def _sweep_one(workflows: Mapping[str, Workflow], pk: str) -> int:
    name, _, instance_id = pk.partition("#")
    with journal.correlated(workflow=name, instance=instance_id):
        return _send_pending(workflows, pk, name, instance_id)


def _send_pending(workflows: Mapping[str, Workflow], pk: str, name: str, instance_id: str) -> int:
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
