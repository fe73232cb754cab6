"""The outbox: the messages a transition sends, committed with it, sent after it.

An entry is a command for an invoke (a CloudEvent for the bus) or a durable timer.
Its id is deterministic (``<pk>.v<version>.<effect index>``), so a message sent
twice is recognised by its consumer, and its ``seq`` (version, effect index) is the
commit order the messages are sent in. A transition that cancels an invoke or a
timer drops their entries still pending in the same commit, so a command for an
invoke that is no longer active is not sent from the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.statechart import Effect

from .. import store
from ..ops import journal, metrics
from ..shared import WorkflowError, clock, settings
from ..versions import Workflow
from . import actors as actors_
from . import bus
from . import timers as durable

Entry = Mapping[str, Any]


@dataclass(slots=True)
class Outbound:
    """What one step adds to and drops from the outbox, and the timers and invokes then
    active (each by the id of the message that started it: its token)."""

    add: dict[str, dict[str, Any]] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    timers: dict[str, str] = field(default_factory=dict)
    invokes: dict[str, str] = field(default_factory=dict)


def outbound(
    workflow: Workflow,
    instance_id: str,
    version: int,
    effects: Iterable[Effect],
    now: str,
    timers: Mapping[str, str],
    invokes: Mapping[str, str],
    pending: Mapping[str, Entry],
    actors: actors_.Actors | None = None,
    owner: str | None = None,
) -> Outbound:
    """The outbox entries of the step committing ``version`` (commands, timers, messages
    to other instances), the pending entries it cancels, and the active timers and
    invokes after it; ``actors`` (the instance's actors record) is changed in place."""
    out = Outbound(timers=dict(timers), invokes=dict(invokes))
    pk = workflow.key(instance_id)
    moment = clock.parse(now)
    actors = actors if actors is not None else actors_.Actors()
    messages = actors_.Message(workflow.name, instance_id, version, actors)
    effects = list(effects)
    waiting: dict[str, list[tuple[int, Effect]]] = {}  # sends to a child this step starts
    for i, effect in enumerate(effects):
        _runnable(workflow, effect)
        message_id = message_id_of(pk, version, i)
        kind = effect.kind
        if kind in ("invoke", "spawn") and effect.type in workflow.children:
            out.add[message_id] = messages.start(
                effect.id, effect.type, effect.input, owner, message_id, [version, i], now
            )
            for k, (j, send) in enumerate(waiting.pop(effect.id, ()), start=1):
                later = message_id_of(pk, version, j)
                out.add[later] = messages.send(effect.id, send.event, later, [version, i, k], now)
        elif kind == "spawn":
            raise actors_.ActorRefused(
                f"{workflow.name}: spawnChild of {effect.type!r}, which is not one of the child "
                f"workflows it declares ({', '.join(workflow.children) or 'none'}); nothing was"
                " changed"
            )
        elif kind in ("cancel_invoke", "stop") and effect.id in actors.children:
            if effect.id in messages.started:  # started and stopped in one step: never starts
                peer = actors_.key(
                    actors.children[effect.id]["workflow"], actors.children[effect.id]["id"]
                )
                out.add = {m: e for m, e in out.add.items() if e.get("peer") != peer}
                del actors.children[effect.id], messages.started[effect.id]
                actors.out.pop(peer, None)
                continue
            entry = messages.stop(effect.id, message_id, [version, i], now)
            if entry is not None:
                out.add[message_id] = entry
        elif kind in ("send_to", "send_parent"):
            to = "#_parent" if kind == "send_parent" else effect.to
            if to not in (None, "#_parent") and _starts_later(effects, i, to, effect, actors):
                waiting.setdefault(to, []).append((i, effect))
                continue
            entry = messages.send(to, effect.event, message_id, [version, i], now)
            if entry is not None:
                out.add[message_id] = entry
        elif kind == "invoke":
            command = workflow.commands[effect.type]
            data = command.data(effect.context, effect.input)
            out.add[message_id] = {
                "event": bus.cloud_event(message_id, command.type, instance_id, data, now),
                "invoke": effect.id,
                "seq": [version, i],
                **({"persistent": True} if command.persistent else {}),
            }
            out.invokes[effect.id] = message_id
        elif kind == "cancel_invoke":
            out.invokes.pop(effect.id, None)
            for pool in (pending, out.add):
                out.drop |= {m for m, e in pool.items() if e.get("invoke") == effect.id}
            out.add = {m: e for m, e in out.add.items() if m not in out.drop}
        elif kind == "schedule":
            out.timers[effect.id] = message_id
            body = durable.timer(
                workflow.name, instance_id, effect.id, effect.event, effect.delay_ms,
                message_id, moment,
            )  # fmt: skip
            out.add[message_id] = {"timer": body, "seq": [version, i]}
        elif kind == "cancel_schedule":
            token = out.timers.pop(effect.id, None)
            if token is not None:
                out.drop.add(token)
                out.add.pop(token, None)
    if waiting:
        raise actors_.ActorRefused(
            f"{workflow.name}: sendTo {sorted(waiting)}, which this step starts no actor as;"
            " nothing was changed"
        )
    out.drop &= set(pending)
    return out


def message_id_of(pk: str, version: int, index: int) -> str:
    """The deterministic id of the message of effect ``index`` of the step committing
    ``version`` (``<pk>.v<version>.<index>``, '#' as '.')."""
    return f"{pk}.v{version}.{index}".replace("#", ".")


def _starts_later(
    effects: list[Effect], i: int, to: str, effect: Effect, actors: actors_.Actors
) -> bool:
    """Whether the send is to the child that a later effect of this step starts (XState:
    a state's entry may send to its own invoke, which starts after the entry actions)."""
    later = any(e.kind in ("invoke", "spawn") and e.id == to for e in effects[i + 1 :])
    return later and (effect.starting or to not in actors.active())


class ActorsNotRun(WorkflowError):
    """The chart asked for an actor action the durable runtime does not carry out."""

    code = "ActorsNotRun"


def _runnable(workflow: Workflow, effect: Effect) -> None:
    """Refuse, before anything is committed, an effect the runtime would misdeliver: a
    delayed send to another actor (the durable timer would come back to the sender)."""
    if effect.kind == "schedule" and effect.to is not None:
        raise ActorsNotRun(
            f"{workflow.name}: {effect.type} is a delayed send to another actor, which the "
            'durable runtime does not run (README, "Child workflows and fan-out"); nothing '
            "was changed"
        )


def seq(message_id: str, entry: Entry) -> tuple[int, ...]:
    """The commit order of an entry: (version, effect index[, order after a start])."""
    if "seq" in entry:
        return tuple(int(n) for n in entry["seq"])
    _, version, index = message_id.rsplit(".", 2)  # entries written before ``seq``
    return int(version.lstrip("v")), int(index)


@dataclass(slots=True)
class Sent:
    """The outcome of sending an outbox: what left it, and the completions to feed back."""

    sent: list[str] = field(default_factory=list)
    feedback: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (message id, event)
    complete: bool = True


def send(pk: str, entries: Mapping[str, Entry], deadline: float | None = None) -> Sent:
    """Send pending entries in commit order; stop at the first failure (or once past
    ``deadline``, a ``time.monotonic()`` value), so nothing is sent before what was
    committed earlier. A command given up after ``max_publish_attempts`` (unless
    persistent) leaves the outbox and its invoke fails (``xstate.error.actor.<id>``); a
    sent one completes it (``xstate.done.actor.<id>``)."""
    tries = settings().max_publish_attempts
    result = Sent()
    for message_id in sorted(entries, key=lambda m: seq(m, entries[m])):
        if deadline is not None and time.monotonic() > deadline:
            break  # out of time: the rest is the sweeper's
        entry = entries[message_id]
        invoke_id = entry.get("invoke")
        try:
            if "timer" in entry:
                durable.send(entry["timer"])
            else:
                route = entry.get("route")  # a message to another instance
                bus.publish(entry["event"], route) if route else bus.publish(entry["event"])
        except WorkflowError as error:
            attempts = int(entry.get("attempts", 0)) + 1
            journal.problem(
                "publish failed; left in outbox", messageId=message_id, attempt=attempts,
                error=str(error),
            )  # fmt: skip
            metrics.count("PublishFailures")
            if invoke_id and attempts >= tries and not entry.get("persistent"):
                metrics.count("CommandsGivenUp")
                result.sent.append(message_id)
                failure = f"could not publish {message_id} after {tries} attempts"
                failed = {"type": f"xstate.error.actor.{invoke_id}", "error": failure}
                result.feedback.append((message_id, failed))
            else:
                store.update_outbox_entry(pk, message_id, {**entry, "attempts": attempts})
            break
        result.sent.append(message_id)
        if invoke_id:
            done = {"type": f"xstate.done.actor.{invoke_id}", "output": {"messageId": message_id}}
            result.feedback.append((message_id, done))
    result.complete = len(result.sent) == len(entries)
    return result
