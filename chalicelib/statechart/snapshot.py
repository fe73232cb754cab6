"""Snapshots (what is stored), effects (what to do after storing) and steps (both)."""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any

    from .definition import StateNode
    from .machine import Machine

SNAPSHOT_FORMAT = 1


class SnapshotError(ValueError):
    """A stored snapshot cannot be used with this machine (wrong machine, bad format)."""


class Effect:
    """Something the runtime must do after the transition is committed.

    ``kind`` is ``action`` (run the named action), ``invoke`` / ``cancel_invoke``
    (start or stop the service or child actor ``type`` under ``id`` for an
    ``invoke``), ``spawn`` / ``stop`` (the same for ``spawnChild`` / ``stopChild``),
    ``send_to`` (deliver ``event`` to child ``to``, or to this machine's own
    mailbox when ``to`` is None), ``send_parent`` (deliver ``event`` to the parent),
    or ``schedule`` / ``cancel_schedule`` (deliver ``event`` to ``to`` after
    ``delay_ms``, or stop doing so; ``to`` None is this machine, ``"#_parent"`` its
    parent, else a child id). ``starting`` marks a send to the child this same step
    starts under ``to`` (a state's entry naming its own invoke), not one running
    now. ``context`` is the context as it was when the action ran, as in XState;
    it and ``starting`` are not part of equality.
    """

    __slots__ = (
        "context", "delay_ms", "event", "id", "input", "kind", "params", "starting", "to", "type",
    )  # fmt: skip

    def __init__(
        self,
        kind: str,
        type: str,  # noqa: A002 - XState's name
        id: str | None = None,  # noqa: A002
        params: Any = None,
        input: Any = None,  # noqa: A002
        delay_ms: float | None = None,
        event: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        to: str | None = None,
        starting: bool = False,
    ) -> None:
        self.kind = kind
        self.type = type
        self.id = id
        self.params = params
        self.input = input
        self.delay_ms = delay_ms
        self.event = event
        self.context = context
        self.to = to
        self.starting = starting

    def _key(self) -> tuple[Any, ...]:
        return (
            self.kind, self.type, self.id, self.params, self.input, self.delay_ms, self.event,
            self.to,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Effect) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(
                ("id", "params", "input", "delay_ms", "event", "to"), self._key()[2:], strict=True
            )
            if value is not None
        )
        return f"Effect({self.kind!r}, {self.type!r}{', ' if fields else ''}{fields})"


class Snapshot:
    """One machine instance at rest: state value, context, status and bookkeeping.

    ``status`` is ``active``, ``done`` (a top-level final state was reached;
    ``output`` holds the machine's output) or ``error`` (an invoke failed with no
    ``onError`` to take; ``error`` holds why). Only an ``active`` snapshot handles
    events. Treat it as immutable. ``to_dict()`` is JSON-safe when the context is;
    a snapshot made by ``Snapshot.from_dict`` is bound to a machine on its first use.
    """

    __slots__ = (
        "_machine",
        "_nodes",
        "children",
        "context",
        "error",
        "history",
        "machine_id",
        "output",
        "status",
        "value",
    )

    def __init__(
        self,
        machine_id: str,
        value: Any,
        context: Mapping[str, Any],
        status: str = "active",
        output: Any = None,
        error: Any = None,
        history: Mapping[str, tuple[str, ...]] | None = None,
        children: Mapping[str, str] | None = None,
        machine: Machine | None = None,
        nodes: tuple[StateNode, ...] | None = None,
    ) -> None:
        self.machine_id = machine_id
        self.value = value
        self.context = context
        self.status = status
        self.output = output
        self.error = error
        self.history = history or {}
        self.children = children or {}
        self._machine = machine
        self._nodes = nodes

    # -- queries (need the machine) ----------------------------------------

    @property
    def machine(self) -> Machine:
        if self._machine is None:
            raise SnapshotError(
                "this snapshot is not bound to a machine; use machine.restore(data)"
            )
        return self._machine

    @property
    def next_events(self) -> list[str]:
        """Event types some active state accepts now (guards not evaluated), sorted."""
        return self.machine.next_events(self)

    @property
    def meta(self) -> dict[str, Any]:
        """``meta`` of every active state that has one, keyed by state id."""
        return {n.id: n.meta for n in self.machine.nodes_of(self) if n.meta is not None}

    @property
    def tags(self) -> set[str]:
        return {t for n in self.machine.nodes_of(self) for t in n.tags}

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags

    def matches(self, value: Any) -> bool:
        """True when ``value`` (e.g. ``"bakePizza.waiting"``) is part of the state value."""
        from .tree import matches_state

        return matches_state(value, self.value)

    def can(self, event: Mapping[str, Any]) -> bool:
        """True when ``event`` would take a transition that does something, as in XState."""
        return self.machine.can(self, event)

    # -- persistence --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-safe dict (the context is included as is, not copied)."""
        data: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT,
            "machine": self.machine_id,
            "value": self.value,
            "context": self.context,
            "status": self.status,
        }
        if self.output is not None:
            data["output"] = self.output
        if self.error is not None:
            data["error"] = self.error
        if self.history:
            data["history"] = {k: list(v) for k, v in self.history.items()}
        if self.children:
            data["children"] = dict(self.children)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], machine: Machine | None = None) -> Snapshot:
        """Rebuild a snapshot from ``to_dict()`` output; SnapshotError if it is not one."""
        if type(data) is not dict and not isinstance(data, Mapping):
            raise SnapshotError("a snapshot must be a dict")
        if data.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(
                f"unknown snapshot format {data.get('format')!r} (expected {SNAPSHOT_FORMAT})"
            )
        try:
            machine_id, value, context, status = (
                data["machine"], data["value"], data["context"], data["status"]
            )  # fmt: skip
        except KeyError:
            missing = [k for k in ("machine", "value", "context", "status") if k not in data]
            raise SnapshotError(f"snapshot is missing {missing}") from None
        if status not in ("active", "done", "error", "stopped"):
            raise SnapshotError(f"bad snapshot status {status!r}")
        history = data.get("history")
        children = data.get("children")
        snapshot = cls(
            machine_id,
            value,
            context,
            status,
            data.get("output"),
            data.get("error"),
            {k: tuple(v) for k, v in history.items()} if history else None,
            dict(children) if children else None,
        )
        return machine._adopt(snapshot) if machine is not None else snapshot

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Snapshot({self.machine_id!r}, value={self.value!r}, status={self.status!r})"


class Step:
    """The result of one transition: the next snapshot and the effects to run.

    ``handled`` is False when no transition was enabled (``snapshot`` is then the
    input snapshot and ``effects`` is empty).
    """

    __slots__ = ("effects", "handled", "snapshot")

    def __init__(self, snapshot: Snapshot, effects: list[Effect], handled: bool) -> None:
        self.snapshot = snapshot
        self.effects = effects
        self.handled = handled

    def __repr__(self) -> str:
        return f"Step({self.snapshot!r}, effects={self.effects!r}, handled={self.handled})"
