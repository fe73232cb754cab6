"""Decide the next version of an instance: migrate it as its versions declare, take the
transition, and build everything its commit writes (snapshot, history, outbox, dedupe,
Idempotency-Key, counters), refusing an event the state does not accept (409) or an
instance that would outgrow one item (413)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.statechart import Effect

from .. import store, versions
from ..messaging import outbox as outbox_
from ..ops import journal
from ..shared import EventNotAllowed, PayloadTooLarge, clock, settings
from ..versions import Workflow, state_key
from .idempotency import fingerprint
from .instances import Incoming, Outcome, client_next_events, restore, version_of
from .validation import CLIENT


@dataclass(slots=True)
class Decision:
    """A decided step: what its commit writes, the answer, the effects to run after it and
    the outbox to send."""

    write: store.Commit
    outcome: Outcome
    effects: list[Effect] = field(default_factory=list)
    outbox: dict[str, Any] = field(default_factory=dict)
    # on its workflow's worklist before this step (None: the workflow keeps none)
    was_listed: bool | None = None


def decide(
    workflow: Workflow,
    instance_id: str,
    instance: store.Instance | None,
    incoming: Incoming,
    create: Mapping[str, Any] | None,
    owner: str | None,
) -> Decision:
    """The next version: its snapshot, effects and everything its commit writes.

    Raises EventNotAllowed when the state does not accept the event, PayloadTooLarge
    when the instance would outgrow what one item may hold.
    """
    initial: list[Effect] = []
    if instance is None:
        running, upgrade = workflow.starting, None
        first = running.machine.initial_transition(context=create)
        snapshot, initial = first.snapshot, first.effects
        before, version, pending, timers, invokes = None, None, {}, {}, {}
    else:
        running, upgrade = upgraded(workflow, instance_id, instance)
        snapshot = restore(workflow, instance, running, upgrade.snapshot)
        before, version = state_key(snapshot.value), instance.version
        pending, timers, invokes = instance.outbox, instance.timers, instance.invokes
    step = running.machine.transition(snapshot, incoming.event)
    if not step.handled:
        raise EventNotAllowed(
            f"{incoming.event['type']} is not allowed in state {state_key(snapshot.value)}",
            state=snapshot.value,
            nextEvents=client_next_events(workflow, snapshot),
        )
    now = clock.now()
    new_version = (version or 0) + 1
    effects = [*initial, *step.effects]  # a new instance also runs its initial entry
    out = outbox_.outbound(
        workflow, instance_id, new_version, effects, now, timers, invokes, pending
    )
    gone = out.drop | (set(incoming.published) & set(pending))
    remaining = {m: e for m, e in pending.items() if m not in gone}
    after = state_key(step.snapshot.value)
    meta = {
        "id": instance_id,
        "version": new_version,
        "definition": running.number,
        "createdAt": instance.created_at if instance else now,
        "updatedAt": now,
        "from": before,
    }
    outcome = Outcome(workflow, instance_id, step.snapshot, meta)
    write = store.Commit(
        pk=workflow.key(instance_id),
        expected_version=version,
        snapshot=step.snapshot.to_dict(),
        state=after,
        now=now,
        history={
            "eventType": incoming.event["type"],
            "eventId": incoming.id,
            "source": incoming.source,
            "from": before,
            "to": after,
            "time": now,
            "event": incoming.event,
            "context": dict(create) if instance is None and create else None,
            "migratedFrom": upgrade.migrated_from if upgrade else None,
            "effects": versions.effect_summary(effects),
            "commands": versions.command_summary(workflow.commands, effects),
            "snapshotHash": versions.snapshot_digest(step.snapshot.to_dict()),
        },
        definition=running.number,
        definition_hash=running.hash,
        counters=versions.counter_changes(
            instance.definition if instance else None,
            running.number,
            step.snapshot.status == "active",
        ),
        owner=owner,
        timers=out.timers,
        invokes=out.invokes,
        add_outbox=out.add,
        remove_outbox=sorted(gone),
        pending_after=bool(remaining or out.add),
        listed=workflow.worklist(step.snapshot) if workflow.worklist else None,
        dedupe=None if incoming.source == CLIENT else incoming.id,
        idempotency=(
            store.Idempotency(
                incoming.id,
                fingerprint(workflow, instance_id, incoming, create is not None),
                outcome.view(),
            )
            if incoming.keyed
            else None
        ),
    )
    size, limit = store.instance_bytes(instance, write), settings().max_instance_bytes
    if size > limit:
        raise PayloadTooLarge(
            f"{workflow.name} {instance_id!r} would grow to {size} bytes, over the "
            f"{limit}-byte limit of one stored instance; nothing was changed"
        )
    was = workflow.worklist(snapshot) if workflow.worklist and instance is not None else False
    return Decision(
        write, outcome, effects, {**remaining, **out.add}, was if workflow.worklist else None
    )


def upgraded(
    workflow: Workflow, instance_id: str, instance: store.Instance
) -> tuple[versions.Version, versions.Upgrade]:
    """The version the instance continues on and its snapshot there: the declared
    migrations from its version on, up to the first refused one (logged)."""
    declared = version_of(workflow, instance)
    upgrade = workflow.versions.upgrade(
        declared.number, instance.snapshot, sorted(instance.timers), sorted(instance.invokes)
    )
    if upgrade.refused:
        journal.problem(
            "migration refused; the instance stays on its version", workflow=workflow.name,
            instance=instance_id, definition=upgrade.number, why=upgrade.refused,
        )  # fmt: skip
    return workflow.versions.by_number[upgrade.number], upgrade
