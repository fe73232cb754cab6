"""Built-in actions the engine resolves itself (XState's assign, raise, cancel) and
the actor actions it turns into effects (spawnChild, stopChild, sendTo, sendParent,
enqueueActions).

Everything else a machine names is an effect: the engine reports it and the
runtime runs it after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Assign:
    """Replace context keys inside the transition (XState's ``assign``).

    ``Assign(updater)`` calls ``updater(context, event)`` and merges the returned
    dict; ``Assign(key=fn)`` calls each ``fn(context, event)`` for its key. With
    ``params`` in the config, updaters receive them as a third argument.
    """

    __slots__ = ("_fields", "_updater")
    type = "xstate.assign"

    def __init__(
        self,
        updater: Callable[..., Mapping[str, Any]] | None = None,
        **fields: Callable[..., Any],
    ) -> None:
        if updater is None and not fields:
            raise TypeError("assign() needs an updater or keyword updaters")
        if updater is not None and fields:
            raise TypeError("assign() takes an updater or keyword updaters, not both")
        self._updater = updater
        self._fields = fields

    def apply(
        self, context: Mapping[str, Any], event: Mapping[str, Any], params: Any = None
    ) -> dict[str, Any]:
        """Return a new context dict; ``context`` itself is left untouched."""
        extra = () if params is None else (params,)
        if self._updater is not None:
            changes = self._updater(context, event, *extra)
            if type(changes) is not dict and not isinstance(changes, Mapping):
                raise TypeError("an assign updater must return a dict of keys to replace")
        else:
            changes = {key: fn(context, event, *extra) for key, fn in self._fields.items()}
        return {**context, **changes}


class Raise:
    """Send an event to this machine (XState's ``raise``).

    Without a delay the event is processed in the same macrostep; with one it
    becomes a ``schedule`` effect. ``event`` may be a dict or a callable
    ``(context, event) -> dict``; ``delay`` a number of ms or a named delay.
    """

    __slots__ = ("delay", "event", "id")
    type = "xstate.raise"

    def __init__(
        self,
        event: Mapping[str, Any] | Callable[..., Mapping[str, Any]],
        delay: int | float | str | None = None,
        id: str | None = None,  # noqa: A002 - XState's option name
    ) -> None:
        if isinstance(event, str):
            raise TypeError(f'raise() needs an event object, e.g. {{"type": "{event}"}}')
        self.event = event
        self.delay = delay
        self.id = id


class Cancel:
    """Cancel a delayed event by its id (XState's ``cancel``)."""

    __slots__ = ("send_id",)
    type = "xstate.cancel"

    def __init__(self, send_id: str) -> None:
        self.send_id = send_id


def assign(
    updater: Callable[..., Mapping[str, Any]] | None = None, **fields: Callable[..., Any]
) -> Assign:
    """Build an assign action: ``assign(fn)`` or ``assign(key=fn, ...)``."""
    return Assign(updater, **fields)


def raise_(
    event: Mapping[str, Any] | Callable[..., Mapping[str, Any]],
    delay: int | float | str | None = None,
    id: str | None = None,  # noqa: A002
) -> Raise:
    """Build a raise action (``raise`` is a Python keyword, hence the underscore)."""
    return Raise(event, delay=delay, id=id)


def cancel(send_id: str) -> Cancel:
    """Build an action that cancels the delayed event scheduled with ``send_id``."""
    return Cancel(send_id)


class SpawnChild:
    """Start a child actor ``src`` under ``id`` (XState's ``spawnChild``).

    ``input`` may be a value or ``(context, event) -> value``; ``id`` a string or
    ``(context, event) -> str``. The id is required: it is how the child is
    addressed, stopped and told apart in ``xstate.done.actor.<id>``, and a durable
    host derives the child's instance id from it.
    """

    __slots__ = ("id", "input", "src")
    type = "xstate.spawnChild"

    def __init__(self, src: str, id: str | Callable[..., str], input: Any = None) -> None:  # noqa: A002
        if not isinstance(src, str) or not src:
            raise TypeError("spawn_child() needs a src naming a registered actor")
        if not callable(id) and (not isinstance(id, str) or not id):
            raise TypeError("spawn_child() needs an id (a non-empty string)")
        self.src = src
        self.id = id
        self.input = input


class StopChild:
    """Stop the child actor ``id`` (XState's ``stopChild``); no-op if there is none."""

    __slots__ = ("id",)
    type = "xstate.stopChild"

    def __init__(self, id: str | Callable[..., str]) -> None:  # noqa: A002
        if not callable(id) and (not isinstance(id, str) or not id):
            raise TypeError("stop_child() needs the child's id")
        self.id = id


PARENT = "#_parent"
SELF = "#_internal"


class SendTo:
    """Send ``event`` to another actor (XState's ``sendTo``; ``sendParent`` is ``to=PARENT``).

    ``to`` is a child id, ``"#_<child id>"``, ``"#_parent"`` or ``"#_internal"``
    (this machine, through its mailbox, not its internal queue), or
    ``(context, event) -> str``. With a ``delay`` (ms, a named delay or a callable)
    the send is scheduled under ``id`` and can be cancelled.
    """

    __slots__ = ("delay", "event", "id", "to")
    type = "xstate.sendTo"

    def __init__(
        self,
        to: str | Callable[..., str],
        event: Mapping[str, Any] | Callable[..., Mapping[str, Any]],
        delay: int | float | str | Callable[..., Any] | None = None,
        id: str | None = None,  # noqa: A002 - XState's option name
    ) -> None:
        if isinstance(event, str):
            raise TypeError(f'send_to() needs an event object, e.g. {{"type": "{event}"}}')
        if not callable(to) and (not isinstance(to, str) or not to):
            raise TypeError("send_to() needs a target actor id")
        self.to = to
        self.event = event
        self.delay = delay
        self.id = id


class EnqueueActions:
    """An action that decides, when it runs, which actions to run (XState's ``enqueueActions``).

    ``collect(context, event, enqueue[, params])`` calls ``enqueue(name_or_action)``,
    ``enqueue.assign(...)``, ``enqueue.raise_(...)``, ``enqueue.spawn_child(...)``,
    ``enqueue.stop_child(...)``, ``enqueue.send_to(...)``, ``enqueue.send_parent(...)``,
    ``enqueue.cancel(...)``; ``enqueue.check(guard)`` evaluates a guard. The queued
    actions then run in order, as if written in place of this one.
    """

    __slots__ = ("collect",)
    type = "xstate.enqueueActions"

    def __init__(self, collect: Callable[..., None]) -> None:
        if not callable(collect):
            raise TypeError("enqueue_actions() needs a function")
        self.collect = collect


class Enqueue:
    """The ``enqueue`` handed to an ``EnqueueActions`` function: collects actions."""

    __slots__ = ("_check", "actions")

    def __init__(self, check: Callable[[Any], bool]) -> None:
        self.actions: list[Any] = []
        self._check = check

    def __call__(self, action: Any) -> None:
        self.actions.append(action)

    def check(self, guard: Any) -> bool:
        """Evaluate ``guard`` (a name or ``{type, params}``) against the current context."""
        return self._check(guard)

    def assign(self, updater: Any = None, **fields: Any) -> None:
        self.actions.append(Assign(updater, **fields))

    def raise_(self, event: Any, delay: Any = None, id: str | None = None) -> None:  # noqa: A002
        self.actions.append(Raise(event, delay=delay, id=id))

    def cancel(self, send_id: str) -> None:
        self.actions.append(Cancel(send_id))

    def spawn_child(self, src: str, id: Any, input: Any = None) -> None:  # noqa: A002
        self.actions.append(SpawnChild(src, id, input))

    def stop_child(self, id: Any) -> None:  # noqa: A002
        self.actions.append(StopChild(id))

    def send_to(self, to: Any, event: Any, delay: Any = None, id: str | None = None) -> None:  # noqa: A002
        self.actions.append(SendTo(to, event, delay, id))

    def send_parent(self, event: Any, delay: Any = None, id: str | None = None) -> None:  # noqa: A002
        self.actions.append(SendTo(PARENT, event, delay, id))


def spawn_child(src: str, id: str | Callable[..., str], input: Any = None) -> SpawnChild:  # noqa: A002
    """Build an action that starts child ``src`` as ``id`` with ``input``."""
    return SpawnChild(src, id, input)


def stop_child(id: str | Callable[..., str]) -> StopChild:  # noqa: A002
    """Build an action that stops child ``id``."""
    return StopChild(id)


def send_to(
    to: str | Callable[..., str],
    event: Mapping[str, Any] | Callable[..., Mapping[str, Any]],
    delay: int | float | str | None = None,
    id: str | None = None,  # noqa: A002
) -> SendTo:
    """Build an action that sends ``event`` to actor ``to`` (see ``SendTo``)."""
    return SendTo(to, event, delay, id)


def send_parent(
    event: Mapping[str, Any] | Callable[..., Mapping[str, Any]],
    delay: int | float | str | None = None,
    id: str | None = None,  # noqa: A002
) -> SendTo:
    """Build an action that sends ``event`` to this machine's parent actor."""
    return SendTo(PARENT, event, delay, id)


def enqueue_actions(collect: Callable[..., None]) -> EnqueueActions:
    """Build an action whose function enqueues the actions to run (see ``EnqueueActions``)."""
    return EnqueueActions(collect)


BUILTINS = (Assign, Raise, Cancel, SpawnChild, StopChild, SendTo, EnqueueActions)


KINDS = {  # the ActionRef kind of each built-in
    Assign: "assign",
    Raise: "raise",
    Cancel: "cancel",
    SpawnChild: "spawn_child",
    StopChild: "stop_child",
    SendTo: "send",
    EnqueueActions: "enqueue",
}


def _json_field(raw: Mapping[str, Any], key: str) -> Any:
    if key not in raw:
        raise KeyError(f"needs '{key}'")
    return raw[key]


# The JSON forms of XState's actor actions (XState writes them as function calls).
_FROM_JSON: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "xstate.spawnChild": lambda raw: SpawnChild(
        _json_field(raw, "src"), _json_field(raw, "id"), raw.get("input")
    ),
    "xstate.stopChild": lambda raw: StopChild(_json_field(raw, "id")),
    "xstate.sendTo": lambda raw: SendTo(
        _json_field(raw, "to"), _json_field(raw, "event"), raw.get("delay"), raw.get("id")
    ),
    "xstate.sendParent": lambda raw: SendTo(
        PARENT, _json_field(raw, "event"), raw.get("delay"), raw.get("id")
    ),
}


def from_json(raw: Mapping[str, Any]) -> Any:
    """The built-in a JSON actor action (``{"type": "xstate.spawnChild", ...}``) stands
    for, or None for any other action; TypeError / KeyError when it is malformed."""
    build = _FROM_JSON.get(raw.get("type"))
    return None if build is None else build(raw)
