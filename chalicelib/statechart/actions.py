"""Built-in actions the engine resolves itself (XState's assign, raise, cancel).

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


BUILTINS = (Assign, Raise, Cancel)
