"""The public face of the engine: ``Machine(config, ...)`` and its pure transitions."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from . import algorithm, tree
from .definition import Definition, StateNode, Transition
from .snapshot import Snapshot, SnapshotError, Step

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_CACHE_LIMIT = 1024


def _freeze(value: Any) -> Any:
    """A hashable key for a state value (nested dicts of strings)."""
    if type(value) is str:
        return value
    if type(value) is dict or isinstance(value, Mapping):
        return tuple((k, v if type(v) is str else _freeze(v)) for k, v in value.items())
    return value


class Machine:
    """A statechart built from an XState v5 config (plain data).

    ``actions`` maps names to ``assign(...)``/``raise_(...)`` or to callables
    ``(context, event[, params])`` that the runtime runs as effects; ``guards``
    maps names to ``(context, event[, params]) -> bool``; ``delays`` maps names
    to milliseconds or ``(context, event) -> ms``. Raises MachineDefinitionError.

    A snapshot in memory keeps the active set exactly as XState's ``_nodes``: a
    step can leave it without an ancestor its value shows (a transition that
    re-enters a parallel state while one of its regions is entered through
    history). Storing keeps only the value, and a restore completes the set, as
    XState's ``restoreSnapshot`` does; so, as in XState, the next step of a
    restored snapshot can differ from that of the one it was stored from.

    Build it once per process: it memoises the work of each kind of step (see
    ``plans.py``), so a warm machine only runs guards and actions.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        actions: Mapping[str, Any] | None = None,
        guards: Mapping[str, Callable[..., bool]] | None = None,
        delays: Mapping[str, Any] | None = None,
    ) -> None:
        self.actions = dict(actions or {})
        self.guards = dict(guards or {})
        self.delays = dict(delays or {})
        self.definition = Definition(config, self.actions, self.guards, self.delays)
        self.config = config
        self.id = self.definition.id
        self.root = self.definition.root
        self._restore_cache: dict[Any, tuple[Any, tuple[StateNode, ...]]] = {}
        # XState's initial microstep: one reentering transition from the root to
        # every initial state (made once, so its plan is made once too)
        targets = tuple(tree.initial_nodes(self.root))
        self._boot = Transition(self.root, "", targets, (), None, True, {})

    # -- transitions ---------------------------------------------------------

    def initial_transition(
        self,
        context: Mapping[str, Any] | None = None,
        input: Any = None,  # noqa: A002
    ) -> Step:
        """Enter the initial states; ``context`` overrides keys of the config's context.

        ``input`` is what a parent gave a child actor: the ``xstate.init`` event carries
        it, and a config whose ``context`` is a function ``(input) -> dict`` (XState's
        ``context: ({ input }) => ...``) gets its context from it.
        """
        base = self.config.get("context")
        start = dict(base(input) if callable(base) else (base or {}))
        if context:
            start.update(context)
        work = algorithm.Work(self.definition, start, (self.root,), {}, {})
        init_event: dict[str, Any] = {"type": "xstate.init"}
        if input is not None:
            init_event["input"] = input
        algorithm.microstep(work, [self._boot], init_event, initial=True)
        algorithm.macrostep(work, init_event, initial=True)
        return Step(self._snapshot_of(work), work.effects, True)

    def transition(self, snapshot: Snapshot | Mapping[str, Any], event: Mapping[str, Any]) -> Step:
        """Apply ``event`` to ``snapshot`` (or its ``to_dict()`` form); pure.

        Returns the Step of one XState macrostep: the next snapshot and the effects
        to run, in XState's order. ``handled`` is False when no transition was
        enabled; the returned snapshot is then the input one (bound to this
        machine). A snapshot whose status is ``done`` or ``error`` handles no event
        at all (the actor's behaviour: ``handled`` False, no effects), although
        XState's pure ``transition()`` would still move a done one. Raises
        SnapshotError for another machine's snapshot and TypeError for an event
        without a string ``type``.
        """
        if (
            not (type(event) is dict or isinstance(event, Mapping))
            or type(event.get("type")) is not str
        ):
            raise TypeError("an event must be a dict with a string 'type'")
        snapshot = self.bind(
            snapshot if isinstance(snapshot, Snapshot) else Snapshot.from_dict(snapshot)
        )
        if snapshot.status != "active":
            return Step(snapshot, [], False)
        history = self._history_nodes(snapshot.history) if snapshot.history else {}
        work = algorithm.Work(
            self.definition, snapshot.context, snapshot._nodes, history, snapshot.children
        )
        if not algorithm.macrostep(work, event):
            return Step(snapshot, work.effects, False)
        return Step(self._snapshot_of(work), work.effects, True)

    def halt(self, snapshot: Snapshot | Mapping[str, Any], status: str, error: Any = None) -> Step:
        """XState's ``xstate.stop`` (``status`` "stopped") or an actor failing with
        ``error`` (``status`` "error"): the snapshot gets the status, and every child is
        stopped (the effects). A snapshot that is not active is returned unhandled. Pure."""
        if status not in ("stopped", "error"):
            raise ValueError(f"halt to 'stopped' or 'error', not {status!r}")
        snapshot = self.bind(
            snapshot if isinstance(snapshot, Snapshot) else Snapshot.from_dict(snapshot)
        )
        if snapshot.status != "active":
            return Step(snapshot, [], False)
        work = algorithm.Work(
            self.definition, snapshot.context, snapshot._nodes,
            self._history_nodes(snapshot.history) if snapshot.history else {}, snapshot.children,
        )  # fmt: skip
        work.status, work.error = status, error
        algorithm.stop_children(work, {"type": "xstate.stop"})
        if status == "error":
            work.children = {}  # XState keeps no children in an error snapshot
        return Step(self._snapshot_of(work), work.effects, True)

    # -- snapshots -----------------------------------------------------------

    def restore(self, data: Mapping[str, Any]) -> Snapshot:
        """A snapshot of this machine from its ``to_dict()`` form; SnapshotError if not."""
        return Snapshot.from_dict(data, machine=self)

    def bind(self, snapshot: Snapshot) -> Snapshot:
        """Check that ``snapshot`` belongs to this machine and attach it; SnapshotError if not.

        Returns ``snapshot`` itself when it is already bound to this machine, else a
        bound copy whose active nodes are restored from its value.
        """
        if snapshot._machine is self:
            return snapshot
        value, nodes = self._fit(snapshot)
        return Snapshot(
            snapshot.machine_id,
            snapshot.value if value is None else tree.copy_value(value),
            snapshot.context,
            snapshot.status,
            snapshot.output,
            snapshot.error,
            snapshot.history,
            snapshot.children,
            machine=self,
            nodes=nodes,
        )

    def _adopt(self, snapshot: Snapshot) -> Snapshot:
        """``bind`` for a snapshot nobody else holds yet (``Snapshot.from_dict``): in place."""
        value, nodes = self._fit(snapshot)
        if value is not None:
            snapshot.value = tree.copy_value(value)
        snapshot._machine = self
        snapshot._nodes = nodes
        return snapshot

    def _fit(self, snapshot: Snapshot) -> tuple[Any, tuple[StateNode, ...]]:
        """``_restored_shape`` of the snapshot's value, once it is known to be ours."""
        if snapshot.machine_id != self.id:
            raise SnapshotError(
                f"snapshot belongs to machine '{snapshot.machine_id}', not '{self.id}'"
            )
        try:
            shape = self._restored_shape(snapshot.value)
            ids = self.definition.ids
            for key, remembered in snapshot.history.items():
                ids[key]
                for node_id in remembered:
                    ids[node_id]
        except KeyError as bad:
            raise SnapshotError(
                f"snapshot does not fit machine '{self.id}': {bad.args[0]}"
            ) from None
        return shape

    def _restored_shape(self, value: Any) -> tuple[Any, tuple[StateNode, ...]]:
        """The active nodes a stored value restores to (XState's ``restoreSnapshot``).

        Returns ``(None, nodes)`` when the value of those nodes is the stored one,
        else ``(value, nodes)``: a value stored from an incomplete active set (see
        ``_snapshot_of``) restores to a completed set whose value can differ.
        """
        key = _freeze(value)
        shape = self._restore_cache.get(key)
        if shape is None:
            nodes = tree.nodes_from_value(self.root, value)
            restored = tree.shared_value(self.root, nodes, self.definition.values)
            shape = (None if restored == value else restored, nodes)
            if len(self._restore_cache) < _CACHE_LIMIT:
                self._restore_cache[key] = shape
        return shape

    def _history_nodes(
        self, history: Mapping[str, tuple[str, ...]]
    ) -> dict[str, tuple[StateNode, ...]]:
        ids = self.definition.ids
        return {key: tuple(ids[i] for i in value) for key, value in history.items()}

    def _snapshot_of(self, work: algorithm.Work) -> Snapshot:
        # The active set is kept as the step left it, as XState keeps ``_nodes``: it
        # can lack an ancestor the value shows (a region re-entered through history
        # while its parallel parent re-enters), and XState's next step exits and
        # enters by that set, not by the value. Only a restore completes it.
        nodes = tuple(work.nodes)
        return Snapshot(
            self.id,
            tree.copy_value(tree.shared_value(self.root, nodes, self.definition.values)),
            work.context,
            work.status,
            work.output,
            work.error,
            {key: tuple(n.id for n in nodes) for key, nodes in work.history.items()},
            work.children,
            machine=self,
            nodes=nodes,
        )

    def nodes_of(self, snapshot: Snapshot) -> tuple[StateNode, ...]:
        """The active state nodes of ``snapshot``."""
        return self.bind(snapshot)._nodes

    # -- queries ---------------------------------------------------------------

    def next_events(self, snapshot: Snapshot) -> list[str]:
        """Event types some active state has a transition for (excluding ``xstate.*``);
        none for a ``done`` or ``error`` snapshot, which handles no event."""
        if snapshot.status != "active":
            return []
        events = {e for n in self.nodes_of(snapshot) for e in n.own_events}
        return sorted(e for e in events if not e.startswith("xstate."))

    def can(self, snapshot: Snapshot, event: Mapping[str, Any]) -> bool:
        """XState's ``snapshot.can``: a transition would be taken that has a target or
        actions; always False for a ``done`` or ``error`` snapshot."""
        snapshot = self.bind(snapshot)
        if snapshot.status != "active":
            return False
        work = algorithm.Work(
            self.definition,
            snapshot.context,
            snapshot._nodes,
            self._history_nodes(snapshot.history),
            {},
        )
        found = algorithm.select_transitions(work, event)
        return any(t.target is not None or t.actions for t in found)

    # -- export ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON-safe XState config (inline Python objects named)."""
        from .diagram import config_to_json

        return config_to_json(copy.deepcopy(self.config) if _plain(self.config) else self.config)

    def to_mermaid(self, snapshot: Snapshot | None = None) -> str:
        """A Mermaid ``stateDiagram-v2``; active states highlighted when ``snapshot`` is given."""
        from .diagram import mermaid

        active = {n.id for n in self.nodes_of(snapshot)} if snapshot is not None else set()
        return mermaid(self.definition, active)


def _plain(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))
