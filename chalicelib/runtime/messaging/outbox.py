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
) -> Outbound:
    """The outbox entries of the step committing ``version`` (commands, timers), the
    pending entries it cancels, and the active timers and invokes after it."""
    out = Outbound(timers=dict(timers), invokes=dict(invokes))
    pk = workflow.key(instance_id)
    moment = clock.parse(now)
    for i, effect in enumerate(effects):
        _runnable(workflow, effect)
        message_id = f"{pk}.v{version}.{i}".replace("#", ".")
        if effect.kind == "invoke":
            command = workflow.commands[effect.type]
            data = command.data(effect.context, effect.input)
            out.add[message_id] = {
                "event": bus.cloud_event(message_id, command.type, instance_id, data, now),
                "invoke": effect.id,
                "seq": [version, i],
                **({"persistent": True} if command.persistent else {}),
            }
            out.invokes[effect.id] = message_id
        elif effect.kind == "cancel_invoke":
            out.invokes.pop(effect.id, None)
            for pool in (pending, out.add):
                out.drop |= {m for m, e in pool.items() if e.get("invoke") == effect.id}
            out.add = {m: e for m, e in out.add.items() if m not in out.drop}
        elif effect.kind == "schedule":
            out.timers[effect.id] = message_id
            body = durable.timer(
                workflow.name, instance_id, effect.id, effect.event, effect.delay_ms,
                message_id, moment,
            )  # fmt: skip
            out.add[message_id] = {"timer": body, "seq": [version, i]}
        elif effect.kind == "cancel_schedule":
            token = out.timers.pop(effect.id, None)
            if token is not None:
                out.drop.add(token)
                out.add.pop(token, None)
    out.drop &= set(pending)
    return out


class ActorsNotRun(WorkflowError):
    """The chart asked for an actor action the durable runtime does not carry out yet."""

    code = "ActorsNotRun"


ACTOR_EFFECTS = frozenset({"spawn", "stop", "send_to", "send_parent"})


def _runnable(workflow: Workflow, effect: Effect) -> None:
    """Refuse, before anything is committed, an effect the runtime would drop or misdeliver:
    the engine resolves spawnChild, stopChild, sendTo and sendParent (README, "Child
    workflows and fan-out"), but until instances run as durable actors nothing would carry
    them out, and a delayed send to another actor would come back to the sender."""
    if effect.kind in ACTOR_EFFECTS or (effect.kind == "schedule" and effect.to is not None):
        raise ActorsNotRun(
            f"{workflow.name}: {effect.type} ({effect.kind}) is an actor action the runtime "
            "does not run yet (only the in-memory ActorSystem does); nothing was changed"
        )


def seq(message_id: str, entry: Entry) -> tuple[int, int]:
    """The commit order of an entry: (version, effect index)."""
    if "seq" in entry:
        version, index = entry["seq"]
        return int(version), int(index)
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
                bus.publish(entry["event"])
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
