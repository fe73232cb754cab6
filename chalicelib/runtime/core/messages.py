"""How a step takes a message from another instance (messaging/actors.py): in its
sender's order and from its kin only, a child's start and stop, a child failing with what
its step raised, what a step may send over the bus."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.statechart import Snapshot, Step

from .. import store, versions
from ..messaging import actors as actors_
from ..messaging import bus
from ..messaging import outbox as outbox_
from ..shared import BadRequest, Conflict, EventNotAllowed, PayloadTooLarge, WorkflowError
from ..versions import Workflow
from .instances import Incoming

__all__ = ["Early", "first_step", "fits_the_bus", "in_order", "permanent", "step"]


class Early(Conflict):
    """A message from another instance arrived before one its sender sent earlier: it is
    decided again after a backoff, and left for the queue to deliver again after that."""


def permanent(error: Exception) -> bool:
    """A refusal that delivering the message again would meet again."""
    if isinstance(error, (actors_.ActorRefused, outbox_.ActorsNotRun, PayloadTooLarge)):
        return True
    return not isinstance(error, WorkflowError)  # the chart's own code raised


def in_order(
    workflow: Workflow, instance_id: str, actors: actors_.Actors, message: Mapping[str, Any]
) -> None:
    """Raise DuplicateEvent for a message applied before, Early for one ahead of its turn,
    EventNotAllowed for a child's completion the instance no longer waits for."""
    sent = message.get("event") or {}
    _from_kin(workflow, instance_id, actors, message)
    for actor, child in actors.children.items():
        if actors_.key(child["workflow"], child["id"]) == message["from"]:
            if child["status"] != "active":  # its last message was applied: late twins
                raise EventNotAllowed(f"{sent.get('type')} comes from a finished child")
            if message.get("child") and sent.get("actorId") != actor:
                raise EventNotAllowed(f"{sent['type']} names another child than its sender")
            break
    else:
        if message.get("child"):  # a completion from a child of an earlier incarnation
            raise EventNotAllowed(f"{sent['type']} comes from a child that is no longer running")
    verdict = actors_.order(actors, message["from"], message["seq"], message.get("prev"))
    if verdict == "duplicate":
        raise store.DuplicateEvent(message["from"])
    if verdict == "early":
        raise Early(
            f"{workflow.name} {instance_id!r}: a message from {message['from']} sent before "
            f"seq {message['seq']} has not arrived yet"
        )


def _from_kin(
    workflow: Workflow, instance_id: str, actors: actors_.Actors, message: Mapping[str, Any]
) -> None:
    """Take messages only from this instance itself, its parent, or one of its children;
    a stop only from its parent. One from an earlier child of an actor id (the state was
    left and entered again) is stale (EventNotAllowed); any other is refused as not ours
    (BadRequest: the dead-letter queue)."""
    sender, me = message["from"], actors_.key(workflow.name, instance_id)
    parent = actors.parent and actors_.key(actors.parent["workflow"], actors.parent["id"])
    if message.get("parent") is not None or sender == parent:  # a start is checked at intake
        return
    if message.get("event") is None:  # a stop from anyone but the parent
        raise BadRequest(f"xstate.stop for {me} from {sender}, which is not its parent")
    kids = {actors_.key(c["workflow"], c["id"]) for c in actors.children.values()}
    if sender == me or sender in kids:
        return
    name, _, sender_id = sender.partition("#")
    if name in workflow.children and sender_id.startswith(f"{instance_id}."):
        raise EventNotAllowed(f"{message['event']['type']} comes from an earlier child")
    raise BadRequest(f"{message['event']['type']} for {me} from {sender}, not its parent or child")


def first_step(
    machine: Any, create: Mapping[str, Any] | None, start: Mapping[str, Any] | None,
    refused: str | None = None,
) -> tuple[Step, str | None]:  # fmt: skip
    """A new instance's initial step. A child whose initial step raises is in error from
    its start, and tells its parent (XState 5: an actor whose initial state fails has
    status 'error' and its parent receives ``xstate.error.actor.<id>``); a root's error
    is raised. The failed child reached no state: its stored value is empty (restored, it
    reads as its initial state's, with status 'error')."""
    if start is None:
        return machine.initial_transition(context=create), None
    if refused:  # its initial step asked for what the runtime refuses
        return versions.failed_start(machine, refused), refused
    try:
        return machine.initial_transition(input=start["input"]), None
    except WorkflowError:
        raise
    except Exception as error:  # noqa: BLE001 - the child fails with it, as XState's does
        why = f"{type(error).__name__}: {error}"
        return versions.failed_start(machine, why), why


def step(
    machine: Any, snapshot: Snapshot, incoming: Incoming, actors: actors_.Actors, new: bool,
    refused: str | None = None,
) -> tuple[Step, str | None]:  # fmt: skip
    """The machine's step for the event; a started child's step is its initial one, a
    stop is XState's ``xstate.stop``; a child whose step raises fails (XState: the
    parent receives ``xstate.error.actor.<id>``), a root's error is raised. Returns the
    step and, for a child that failed, why."""
    kind = incoming.event["type"]
    if kind == actors_.START:
        if not new:
            raise store.DuplicateEvent(incoming.id)
        return Step(snapshot, [], True), None
    if kind == actors_.STOP:
        return machine.halt(snapshot, "stopped"), None
    if refused:  # a child fails with it; a root takes nothing (committed as refused)
        if actors.parent is not None:
            return machine.halt(snapshot, "error", refused), refused
        return Step(snapshot, [], False), None
    try:
        return machine.transition(snapshot, incoming.event), None
    except WorkflowError:
        raise
    except Exception as error:
        if actors.parent is None:
            raise
        why = f"{type(error).__name__}: {error}"
        return machine.halt(snapshot, "error", why), why


def fits_the_bus(workflow: Workflow, instance_id: str, add: Mapping[str, Any]) -> None:
    """PayloadTooLarge for a step whose message SNS would refuse for ever (over 256 KB):
    committed, it would hold back every later message of the outbox."""
    for entry in add.values():
        if "event" not in entry:
            continue
        size = len(json.dumps(entry["event"], separators=(",", ":")).encode())
        if size > bus.MAX_MESSAGE_CHARS:
            raise PayloadTooLarge(
                f"{workflow.name} {instance_id!r} would send {entry['event']['type']} of {size}"
                f" bytes, over the {bus.MAX_MESSAGE_CHARS} SNS takes; nothing was changed"
            )
