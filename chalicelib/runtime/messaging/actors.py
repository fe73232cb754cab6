"""Workflow instances as durable actors: the messages one instance sends another.

A step's actor effects (an invoke or ``spawnChild`` of a child workflow, ``stopChild`` or
leaving the invoking state, ``sendTo``, ``sendParent``, a child's completion) become
outbox entries, committed with the step and sent after it like commands: CloudEvents of
type ``xstate.start``, ``xstate.stop`` or ``xstate.send``, published with the message
attribute ``type`` = ``@<target workflow>`` so that only the target workflow's events
queue receives them (``wiring.workflow_queue``).

Each instance keeps an ``actors`` record with its commit:

- ``parent``: ``{"workflow", "id", "actor"}`` of a child instance (none for a root);
- ``children``: actor id -> ``{"workflow", "id", "status"}`` of the last child it started
  under each actor id (status active, done, error or stopped), at most ``MAX_CHILDREN``
  actor ids;
- ``out``: peer key -> the ``seq`` of the last message sent to it;
- ``in``: peer key -> the ``seq`` of the last message applied from it (the channels with
  a child are dropped once it is stopped or finished: the record does not grow with the
  children an instance runs over time).

Every message carries its ``seq`` (the sender's version and effect index) and ``prev``,
the seq of the sender's previous message to the same receiver. A receiver applies a
message only when ``prev`` is the last it applied from that sender (``order``), so
messages between two instances are applied in send order whatever order the queue
delivers them in, and each once (a seq at or before the last applied is a duplicate).
A child's id is derived from its parent's: ``<parent id>.<actor id>.<parent version>``,
so the same start sent twice starts one instance, and a state entered again starts a
new child, as XState does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..shared import BadRequest, WorkflowError
from ..shared.wiring import actor_route as route
from ..versions import MAX_INSTANCE_ID, START, STOP, is_instance_id
from . import bus

SEND = "xstate.send"
MESSAGE_TYPES = frozenset({START, STOP, SEND})
MAX_CHILDREN = 100  # child actor ids of one instance (its record lists the last child of each)
ACTIVE, DONE, ERROR, STOPPED = "active", "done", "error", "stopped"
FINISHED = {"done": DONE, "error": ERROR}

__all__ = [
    "MAX_CHILDREN",
    "MESSAGE_TYPES",
    "SEND",
    "START",
    "STOP",
    "ActorRefused",
    "Actors",
    "Message",
    "child_id",
    "order",
    "parse",
    "route",
]


class ActorRefused(WorkflowError):
    """A step asked for an actor action that cannot be carried out (a spawn of a workflow
    it does not declare, more children than allowed, a send to no actor): refused before
    anything is committed."""

    code = "ActorRefused"


def child_id(parent_id: str, actor_id: str, version: int) -> str:
    """The instance id of the child ``actor_id`` that the parent's ``version`` starts."""
    return f"{parent_id}.{actor_id}.{version}"


def key(workflow: str, instance_id: str) -> str:
    return f"{workflow}#{instance_id}"


class Actors:
    """An instance's actors record, changed while its next step is built."""

    def __init__(self, record: Mapping[str, Any] | None = None) -> None:
        record = copy.deepcopy(dict(record or {}))
        self.parent: dict[str, str] | None = record.get("parent")
        self.children: dict[str, dict[str, str]] = record.get("children", {})
        self.out: dict[str, list[int]] = record.get("out", {})
        self.inbox: dict[str, list[int]] = record.get("in", {})

    def record(self) -> dict[str, Any]:
        """The record to store (empty parts left out)."""
        parts = {"parent": self.parent, "children": self.children, "out": self.out}
        return {k: v for k, v in {**parts, "in": self.inbox}.items() if v}

    def forget(self, peer: str) -> None:
        """Drop the channels with a child that will send and get nothing more (stopped or
        finished), so the record does not grow with every child an instance ever ran."""
        self.out.pop(peer, None)
        self.inbox.pop(peer, None)

    def active(self) -> dict[str, dict[str, str]]:
        return {a: c for a, c in self.children.items() if c["status"] == ACTIVE}


class Message:
    """Builds the actor messages of one step (``outbox.outbound`` calls it per effect)."""

    def __init__(self, workflow: str, instance_id: str, version: int, actors: Actors) -> None:
        self.workflow, self.instance_id, self.version = workflow, instance_id, version
        self.actors = actors
        self.sender = key(workflow, instance_id)
        self.started: dict[str, str] = {}  # actor id -> message id of a start in this step

    def entry(
        self, kind: str, message_id: str, seq: list[int], workflow: str, target: str,
        now: str, **data: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """One message to instance ``target`` of ``workflow``, chained to the last one
        this instance sent it."""
        peer = key(workflow, target)
        prev = self.actors.out.get(peer)
        self.actors.out[peer] = seq
        body = {"from": self.sender, "seq": seq, "prev": prev, **data}
        event = {**bus.cloud_event(message_id, kind, target, body, now), "workflow": workflow}
        return {
            "event": event,
            "peer": peer,
            "route": route(workflow),
            "seq": seq,
            "persistent": True,
        }

    def start(
        self, actor_id: str, src: str, input_: Any, owner: str | None, message_id: str,
        seq: list[int], now: str,
    ) -> dict[str, Any]:  # fmt: skip
        """Start the child ``actor_id`` (a workflow named ``src``). Refused (ActorRefused)
        while a child of that actor id still runs (a durable child needs one id: XState
        would leave the first one running, unreachable), over ``MAX_CHILDREN`` actor ids,
        or for an id that could not name an instance."""
        earlier = self.actors.children.get(actor_id)
        if earlier is not None and earlier["status"] == ACTIVE:
            raise ActorRefused(
                f"{self.sender} starts {actor_id!r} while its child {earlier['id']!r} still "
                "runs: stop it first or use another id; nothing was changed"
            )
        if len(self.actors.children) >= MAX_CHILDREN and earlier is None:
            raise ActorRefused(
                f"{self.sender} would have more than {MAX_CHILDREN} child actor ids; nothing "
                "was changed"
            )
        child = child_id(self.instance_id, actor_id, self.version)
        if not is_instance_id(child):
            raise ActorRefused(
                f"child id {child[:40]!r}... is not 1-{MAX_INSTANCE_ID} printable characters: "
                "shorten the actor id or nest less deeply; nothing was changed"
            )
        self.actors.children[actor_id] = {"workflow": src, "id": child, "status": ACTIVE}
        self.started[actor_id] = message_id
        parent = {"workflow": self.workflow, "id": self.instance_id, "actor": actor_id}
        return self.entry(
            START, message_id, seq, src, child, now, input=input_, parent=parent, owner=owner
        )

    def stop(self, actor_id: str, message_id: str, seq: list[int], now: str) -> dict | None:
        """Stop the child ``actor_id`` (None: it is not running, nothing to send)."""
        child = self.actors.children.get(actor_id)
        if child is None or child["status"] != ACTIVE:
            return None
        child["status"] = STOPPED
        entry = self.entry(STOP, message_id, seq, child["workflow"], child["id"], now)
        self.actors.forget(key(child["workflow"], child["id"]))  # its last message
        return entry

    def send(
        self, to: str | None, event: Mapping[str, Any], message_id: str, seq: list[int],
        now: str,
    ) -> dict[str, Any] | None:  # fmt: skip
        """``sendTo`` a child (``to`` its actor id), the parent (``#_parent``) or this
        instance itself (None); None when the child is no longer running (XState drops
        an event sent to a stopped actor)."""
        if to is None:
            return self.entry(
                SEND, message_id, seq, self.workflow, self.instance_id, now, event=event
            )
        if to == "#_parent":
            parent = self.actors.parent
            if parent is None:
                raise ActorRefused(f"{self.sender} has no parent to send {event['type']} to")
            return self.entry(
                SEND, message_id, seq, parent["workflow"], parent["id"], now, event=event
            )
        child = self.actors.children.get(to)
        if child is None:
            raise ActorRefused(
                f"{self.sender} has no child actor {to!r} to send {event['type']} to"
            )
        if child["status"] != ACTIVE:
            return None
        return self.entry(SEND, message_id, seq, child["workflow"], child["id"], now, event=event)

    def finished(
        self, status: str, output: Any, error: Any, message_id: str, seq: list[int], now: str
    ) -> dict[str, Any] | None:
        """A child that reached ``status`` done or error tells its parent (XState's
        ``xstate.done.actor.<id>`` with ``output``, ``xstate.error.actor.<id>`` with
        ``error``); None for a root."""
        parent = self.actors.parent
        if parent is None or status not in FINISHED:
            return None
        actor = parent["actor"]
        if status == "done":
            event = {"type": f"xstate.done.actor.{actor}", "output": output, "actorId": actor}
        else:
            event = {"type": f"xstate.error.actor.{actor}", "error": error, "actorId": actor}
        return self.entry(
            SEND, message_id, seq, parent["workflow"], parent["id"], now, event=event,
            child=self.instance_id,
        )  # fmt: skip


def order(actors: Actors, sender: str, seq: list[int], prev: list[int] | None) -> str:
    """Whether a message from ``sender`` is ``next`` (apply it), a ``duplicate`` (applied
    before) or ``early`` (one sent before it has not been applied yet)."""
    last = actors.inbox.get(sender)
    if last is not None and tuple(seq) <= tuple(last):
        return "duplicate"
    if (prev is None and last is None) or (prev is not None and list(prev) == list(last or [])):
        return "next"
    return "early"


def _seq(value: Any, what: str) -> list[int]:
    if (
        not isinstance(value, list)
        or not 2 <= len(value) <= 3
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)
    ):
        raise BadRequest(f"actor message {what} must be a list of 2-3 whole numbers")
    return value


def parse(event: Mapping[str, Any]) -> dict[str, Any]:
    """The checked data of an actor message (``xstate.start/stop/send``); BadRequest
    for one that is malformed (it goes to the dead-letter queue)."""
    data = event.get("data")
    if not isinstance(event.get("workflow"), str):
        raise BadRequest(f"{event['type']} names no target workflow")
    if not isinstance(data, Mapping):
        raise BadRequest(f"{event['type']} has no data")
    sender = data.get("from")
    if not isinstance(sender, str) or "#" not in sender:
        raise BadRequest(f"{event['type']} has no sender ('from': '<workflow>#<id>')")
    out = {"from": sender, "seq": _seq(data.get("seq"), "seq"), "prev": data.get("prev")}
    if out["prev"] is not None:
        _seq(out["prev"], "prev")
    if event["type"] == START:
        parent = data.get("parent")
        if not isinstance(parent, Mapping) or not all(
            isinstance(parent.get(k), str) for k in ("workflow", "id", "actor")
        ):
            raise BadRequest("xstate.start needs parent {workflow, id, actor}")
        out.update(input=data.get("input"), parent=dict(parent), owner=data.get("owner"))
    elif event["type"] == SEND:
        sent = data.get("event")
        if not isinstance(sent, Mapping) or not isinstance(sent.get("type"), str):
            raise BadRequest("xstate.send needs an event with a string type")
        out.update(event=dict(sent), child=data.get("child"))
    return out
