"""What the runtime needs to know about one workflow (the domain fills it in)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from chalicelib.statechart import Effect, Machine, Snapshot, Step

from .versions import Migration, Version, Versions, check_lock

MAX_INSTANCE_ID = 128
# the messages that start and stop a child instance (messaging/actors.py), as its
# history records them
START, STOP = "xstate.start", "xstate.stop"
# What the runtime adds beside a client event's payload fields (``callers.client_event``):
# a payload field of one of these names would be overwritten, or overwrite the event type.
RESERVED_FIELDS = ("type", "time")


def is_instance_id(text: str) -> bool:
    """Whether ``text`` could name an instance: 1-128 printable characters. Ids are made
    by the runtime's callers; anything else would not fit a table key or a log line, so
    no such instance exists."""
    return 0 < len(text) <= MAX_INSTANCE_ID and text.isprintable()


def failed_start(machine: Machine, why: str) -> Step:
    """The step of a child whose initial step raised: status 'error', no state (XState 5:
    an actor whose start fails is in error and its parent hears it)."""
    return Step(Snapshot(machine.id, {}, {}, "error", error=why), [], True)


def timers_dropped(step: Step, before: Snapshot, timers: Iterable[str]) -> Step:
    """``step``, and when it stopped or failed an active instance, its active ``timers``
    cancelled after the step's own effects, in id order (XState's stop procedure cancels
    an actor's delayed events)."""
    if before.status != "active" or step.snapshot.status not in ("stopped", "error"):
        return step
    cancels = [Effect("cancel_schedule", "xstate.cancel", id=t) for t in sorted(timers)]
    return Step(step.snapshot, [*step.effects, *cancels], step.handled)


def state_key(value: Any) -> str:
    """A state value as one string: ``"bakePizza.waitingForPizzaToBeBaked"``."""
    if isinstance(value, str):
        return value
    if len(value) == 1:
        key, sub = next(iter(value.items()))
        return f"{key}.{state_key(sub)}" if sub else key
    return "(" + ",".join(f"{k}:{state_key(v)}" if v else k for k, v in value.items()) + ")"


class Command:
    """An invoked service whose work is one command message on the bus.

    ``data(context, input)`` builds the message data. The message is committed in
    the outbox with the transition that starts the invoke; once it is published
    the runtime feeds ``xstate.done.actor.<id>`` back to the instance. A command that
    cannot be published ``max_publish_attempts`` times fails its invoke, unless it is
    ``persistent`` (a compensation, such as a cancel, must reach its service however
    long the bus is down): then the sweeper keeps sending it until it is out.
    """

    def __init__(
        self, type_: str, data: Callable[[Mapping[str, Any], Any], Any], persistent: bool = False
    ) -> None:
        self.type = type_
        self.data = data
        self.persistent = persistent


def _check_client_model(workflow: str, event_type: str, model: type[BaseModel]) -> None:
    """ValueError when a client event's payload could carry a field the runtime sets."""
    if model.model_config.get("extra") == "allow":
        raise ValueError(
            f"{workflow} {event_type}: {model.__name__} allows extra fields, so a client could"
            f" send {' or '.join(RESERVED_FIELDS)}; use extra='forbid'"
        )
    names = {
        alias
        for field, info in model.model_fields.items()
        for alias in (field, info.alias, info.validation_alias)
        if isinstance(alias, str)
    }
    taken = sorted(names & set(RESERVED_FIELDS))
    if taken:
        raise ValueError(
            f"{workflow} {event_type}: {model.__name__} has a field named {', '.join(taken)},"
            f" which the runtime sets on every client event ({', '.join(RESERVED_FIELDS)});"
            " rename it"
        )


class Workflow:
    """A statechart plus the events callers may send and the commands it issues.

    ``client_events`` / ``bus_events`` map event types to the pydantic model of
    their payload: clients may send only the former, the bus only the latter.
    ``view(snapshot, meta)`` renders an instance for clients; ``meta`` holds
    ``id``, ``version``, ``createdAt``, ``updatedAt``. ``worklist(snapshot)``, when
    given, says whether an instance waits on people (a staff queue): the runtime keeps
    those in an index, oldest first, updated in the commit that changes it.

    ``machine`` is the version new instances start on, numbered ``version``;
    ``previous`` are the older versions instances may still run on (oldest first), and
    ``migration`` turns a snapshot of the version before into one of this one. With
    ``lock`` (the versions lock file), a version whose chart changed under its recorded
    number raises DefinitionChanged here, at start-up.

    ``concurrency`` is the most concurrent invocations the event source of the
    workflow's bus-events queue starts (SQS's ``MaximumConcurrency``: 2-1000).

    ``children`` names the registered workflows this one may start as child instances:
    an ``invoke`` or ``spawnChild`` whose ``src`` is one of them starts a durable child
    (README, "Child workflows and fan-out"); any other invoke ``src`` must be a Command.
    ``start_on`` is the declared version new instances start on (None: the latest); a
    deploy may pin new instances to an older one while a newer one is rolled out.
    """

    def __init__(
        self,
        name: str,
        machine: Machine,
        client_events: Mapping[str, type[BaseModel]],
        bus_events: Mapping[str, type[BaseModel]],
        commands: Mapping[str, Command],
        view: Callable[[Snapshot, Mapping[str, Any]], dict[str, Any]],
        *,
        version: int = 1,
        migration: Migration | None = None,
        previous: Sequence[Version] = (),
        lock: Path | None = None,
        worklist: Callable[[Snapshot], bool] | None = None,
        concurrency: int = 5,
        children: Sequence[str] = (),
        start_on: int | None = None,
    ) -> None:
        if "#" in name:
            raise ValueError("a workflow name cannot contain '#'")
        overlap = set(client_events) & set(bus_events)
        if overlap:
            raise ValueError(f"events cannot come from both clients and the bus: {overlap}")
        for event_type, model in client_events.items():
            _check_client_model(name, event_type, model)
        self.versions = Versions([*previous, Version(version, machine, migration)])
        for declared in self.versions.by_number.values():
            for node in declared.machine.definition.nodes:
                for invoke in node.invoke:
                    if invoke.src not in commands and invoke.src not in children:
                        raise ValueError(
                            f"#{node.id} invokes '{invoke.src}', which is neither a Command nor"
                            " a child workflow it declares"
                        )
        overlap = set(commands) & set(children)
        if overlap:
            raise ValueError(f"{name}: {sorted(overlap)} name both a Command and a child workflow")
        if start_on is not None and start_on not in self.versions.by_number:
            raise ValueError(f"{name}: start_on={start_on} is not a declared version")
        if lock is not None:
            check_lock(name, self.versions, lock)
        self.name = name
        self.machine = machine
        self.lock = lock
        self.client_events = dict(client_events)
        self.bus_events = dict(bus_events)
        self.commands = dict(commands)
        self.view = view
        self.worklist = worklist
        self.concurrency = concurrency
        self.children = tuple(children)
        self.peers: Mapping[str, Workflow] = {}  # the registry it runs in (``link``)
        self.starting = self.versions.by_number[start_on] if start_on else self.versions.latest

    def machine_of(self, number: int | None) -> Machine | None:
        """The machine of declared version ``number`` (None: the oldest), or None."""
        declared = self.versions.get(number)
        return declared.machine if declared else None

    def key(self, instance_id: str) -> str:
        """The table partition key of an instance."""
        return f"{self.name}#{instance_id}"


def link(workflows: Mapping[str, Workflow]) -> Mapping[str, Workflow]:
    """Tell each workflow the registry it runs in (a child's progress is pushed on its
    parent's live views, rendered by the parent's workflow); returns ``workflows``."""
    for workflow in workflows.values():
        workflow.peers = workflows
    return workflows
