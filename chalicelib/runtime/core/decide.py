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
from ..messaging import actors as actors_
from ..messaging import outbox as outbox_
from ..ops import journal
from ..shared import (
    EventNotAllowed,
    PayloadTooLarge,
    clock,
    settings,
)
from ..versions import Workflow, state_key
from . import messages
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
    when the instance would outgrow what one item may hold (or a message what SNS takes),
    Early for a message from another instance that one sent before it must be applied
    first, and DuplicateEvent for one applied before.

    A message from another instance that its step can never take (the chart raises, or
    asks for what the runtime refuses: ActorRefused, ActorsNotRun, PayloadTooLarge) is
    not raised, or it would reach the dead-letter queue and hold back every later message
    of its channel: a child fails with it (its parent hears ``xstate.error.actor.<id>``),
    a root commits it as refused (the snapshot unchanged) and the journal says why.
    """
    try:
        return _decide(workflow, instance_id, instance, incoming, create, owner, None)
    except Exception as error:
        if incoming.message is None or not messages.permanent(error):
            raise
        why = f"{type(error).__name__}: {error}"
        journal.problem(
            "message refused for good; its channel moves on", workflow=workflow.name,
            instance=instance_id, event=incoming.event["type"], eventId=incoming.id, why=why,
        )  # fmt: skip
        return _decide(workflow, instance_id, instance, incoming, create, owner, why)


def _decide(
    workflow: Workflow,
    instance_id: str,
    instance: store.Instance | None,
    incoming: Incoming,
    create: Mapping[str, Any] | None,
    owner: str | None,
    refused: str | None,
) -> Decision:
    initial: list[Effect] = []
    message, failed = incoming.message, None
    if instance is None:
        running, upgrade = workflow.starting, None
        start = message if incoming.event["type"] == actors_.START else None
        first, failed = messages.first_step(running.machine, create, start, refused)
        snapshot, initial = first.snapshot, first.effects
        before, version, pending, timers, invokes = None, None, {}, {}, {}
        actors = actors_.Actors({"parent": start["parent"]} if start else None)
        owner = start.get("owner") if start else owner
    else:
        running, upgrade = upgraded(workflow, instance_id, instance)
        snapshot = restore(workflow, instance, running, upgrade.snapshot)
        before, version = state_key(snapshot.value), instance.version
        pending, timers, invokes = instance.outbox, instance.timers, instance.invokes
        actors = actors_.Actors(instance.actors)
    if message is not None:
        messages.in_order(workflow, instance_id, actors, message)
        actors.inbox[message["from"]] = message["seq"]
    step, raised = messages.step(
        running.machine, snapshot, incoming, actors, instance is None, refused
    )
    failed = failed or raised
    # XState drops an event its state does not take; a message from another instance
    # still moves its channel on (committed), or the sender's next one would wait for ever
    if not step.handled and (message is None or snapshot.status != "active"):
        raise EventNotAllowed(
            f"{incoming.event['type']} is not allowed in state {state_key(snapshot.value)}",
            state=snapshot.value,
            nextEvents=client_next_events(workflow, snapshot),
        )
    if message is not None and message.get("child"):
        child = actors.children[incoming.event["actorId"]]
        child["status"] = actors_.FINISHED.get(incoming.event["type"].split(".")[1], "done")
        actors.forget(message["from"])  # a finished child sends and gets nothing more
    step = versions.timers_dropped(step, snapshot, timers)  # when it stopped or failed
    now = clock.now()
    new_version = (version or 0) + 1
    effects = [*initial, *step.effects]  # a new instance also runs its initial entry
    out = outbox_.outbound(
        workflow, instance_id, new_version, effects, now, timers, invokes, pending, actors,
        owner if instance is None else instance.owner,
    )  # fmt: skip
    finished = step.snapshot.status if snapshot.status == "active" or instance is None else None
    if finished in ("done", "error"):  # a child tells its parent, after its step's messages
        index = len(effects)
        message_id = outbox_.message_id_of(workflow.key(instance_id), new_version, index)
        told = actors_.Message(workflow.name, instance_id, new_version, actors).finished(
            finished, step.snapshot.output, step.snapshot.error, message_id,
            [new_version, index], now,
        )  # fmt: skip
        if told is not None:
            out.add[message_id] = told
    messages.fits_the_bus(workflow, instance_id, out.add)
    gone = out.drop | (set(incoming.published) & set(pending))
    remaining = {m: e for m, e in pending.items() if m not in gone}
    after = state_key(step.snapshot.value)
    meta = {
        "actors": actors.record(),
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
            # how a replay takes a step the chart's transition did not make
            **({"failed": failed} if failed else {}),
            **({"dropped": True} if not step.handled else {}),
            **({"refused": refused} if refused else {}),
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
        actors=actors.record(),
        add_outbox=out.add,
        remove_outbox=sorted(gone),
        pending_after=bool(remaining or out.add),
        # a stopped, failed or finished instance waits on nobody
        listed=(
            workflow.worklist(step.snapshot) and step.snapshot.status == "active"
            if workflow.worklist
            else None
        ),
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
    invoked = declared.machine.definition.invoke_ids
    children = actors_.Actors(instance.actors).active()
    running = [*instance.invokes, *(a for a in children if a in invoked)]  # child workflows too
    upgrade = workflow.versions.upgrade(
        declared.number, instance.snapshot, sorted(instance.timers), sorted(running)
    )
    if upgrade.refused:
        journal.problem(
            "migration refused; the instance stays on its version", workflow=workflow.name,
            instance=instance_id, definition=upgrade.number, why=upgrade.refused,
        )  # fmt: skip
    return workflow.versions.by_number[upgrade.number], upgrade
