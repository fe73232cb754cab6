"""Reading an XState v5 machine config (plain data) into a checked tree of state nodes.

Everything that can be wrong with a config is found here, at ``Machine(...)``
time, and reported as a ``MachineDefinitionError`` naming the bad node's path.
"""

from __future__ import annotations

from collections.abc import Mapping

from .actions import KINDS, Cancel, Raise, from_json

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_NODE_KEYS = frozenset(
    {
        "id", "key", "initial", "context", "states", "on", "entry", "exit", "always",
        "after", "invoke", "onDone", "type", "history", "target", "meta", "tags",
        "description", "output", "version", "types", "schemas",
    }
)  # fmt: skip
_TRANSITION_KEYS = frozenset({"target", "guard", "actions", "reenter", "description", "meta"})
_INVOKE_KEYS = frozenset({"id", "src", "input", "onDone", "onError", "systemId", "meta"})
_TYPES = frozenset({"atomic", "compound", "parallel", "final", "history"})


def _is_index(key: str) -> bool:
    """True for JavaScript array-index keys: '0', '7', '42' (not '07', not '-1')."""
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0")


class MachineDefinitionError(ValueError):
    """A machine config is invalid; the message names the offending node path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def js_keys(mapping: Mapping[str, Any]) -> list[str]:
    """Keys in JavaScript's property order: integer-like keys ascending, then the rest.

    XState iterates config objects with ``Object.keys``; a config loaded from JSON
    must give the same order here, or delays like ``{"500": ..., "100": ...}``
    would fire their effects in a different order.
    """
    keys = [str(k) for k in mapping]
    ints = sorted((k for k in keys if _is_index(k)), key=int)
    return ints + [k for k in keys if not _is_index(k)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class ActionRef:
    """One resolved action: kind is assign | raise | cancel | effect | spawn | stop (an
    invoke's start and stop) | spawn_child | stop_child | send | enqueue."""

    __slots__ = ("dynamic", "impl", "kind", "params", "type")

    def __init__(self, kind: str, type: str, params: Any = None, impl: Any = None) -> None:  # noqa: A002
        self.kind = kind
        self.type = type
        self.params = params
        self.impl = impl
        self.dynamic = callable(params)  # params computed from (context, event)


class GuardRef:
    """One resolved guard: kind is named | and | or | not | stateIn."""

    __slots__ = ("children", "impl", "kind", "name", "params", "state")

    def __init__(
        self,
        kind: str,
        name: str,
        params: Any = None,
        impl: Callable[..., bool] | None = None,
        children: tuple[GuardRef, ...] = (),
        state: Any = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.params = params
        self.impl = impl
        self.children = children
        self.state = state


class InvokeDef:
    """One ``invoke`` of a state: the service ``src`` started under ``id``."""

    __slots__ = ("id", "input", "src")

    def __init__(self, id: str, src: str, input: Any) -> None:  # noqa: A002
        self.id = id
        self.src = src
        self.input = input


class Transition:
    """One transition of ``source`` on ``event_type`` (``""`` for eventless ones)."""

    __slots__ = ("actions", "config", "delay", "event_type", "guard", "reenter", "source", "target")

    def __init__(
        self,
        source: StateNode,
        event_type: str,
        target: tuple[StateNode, ...] | None,
        actions: tuple[ActionRef, ...],
        guard: GuardRef | None,
        reenter: bool,
        config: Mapping[str, Any],
    ) -> None:
        self.source = source
        self.event_type = event_type
        self.target = target
        self.actions = actions
        self.guard = guard
        self.reenter = reenter
        self.config = config
        self.delay: Any = None


class StateNode:
    """One node of the chart. ``order`` is the document (pre-)order, as in XState."""

    __slots__ = (
        "always", "ancestors", "atomic", "candidates", "config", "entry", "exit",
        "history", "history_target", "id", "initial", "invoke", "key", "meta",
        "order", "output", "own_events", "parent", "path", "states", "tags",
        "transitions", "type",
    )  # fmt: skip

    def __init__(
        self,
        key: str,
        id: str,  # noqa: A002 - XState's name
        path: tuple[str, ...],
        parent: StateNode | None,
        type: str,  # noqa: A002
        order: int,
        config: Mapping[str, Any],
        meta: Any = None,
        tags: tuple[str, ...] = (),
        output: Any = None,
    ) -> None:
        self.key = key
        self.id = id
        self.path = path
        self.parent = parent
        self.type = type
        self.atomic = type in ("atomic", "final")
        self.order = order
        self.config = config
        self.meta = meta
        self.tags = tags
        self.output = output
        self.ancestors: tuple[StateNode, ...] = (parent, *parent.ancestors) if parent else ()
        self.states: dict[str, StateNode] = {}
        self.history: str | None = None
        self.history_target: tuple[StateNode, ...] | None = None
        self.initial: Transition | None = None
        self.entry: list[ActionRef] = []
        self.exit: list[ActionRef] = []
        self.invoke: list[InvokeDef] = []
        self.transitions: dict[str, list[Transition]] = {}
        self.always: list[Transition] = []
        self.own_events: tuple[str, ...] = ()
        self.candidates: dict[str, list[Transition]] = {}

    def __repr__(self) -> str:
        return f"<StateNode #{self.id}>"


class Definition:
    """The checked node tree of one machine config."""

    def __init__(
        self,
        config: Mapping[str, Any],
        actions: Mapping[str, Any],
        guards: Mapping[str, Callable[..., bool]],
        delays: Mapping[str, Any],
    ) -> None:
        if not isinstance(config, Mapping):
            raise MachineDefinitionError("(machine)", "a machine config must be a dict")
        self.config = config
        self.actions = actions
        self.guards = guards
        self.delays = delays
        self.id: str = config.get("id") or "(machine)"
        self.ids: dict[str, StateNode] = {}
        self.nodes: list[StateNode] = []
        self.invoke_ids: set[str] = set()  # children started by an invoke, not a spawn
        # memo tables of the step algorithm (algorithm.py, plans.py), per machine
        self.plans: dict[Any, Any] = {}
        self.always_chains: dict[tuple[StateNode, ...], Any] = {}
        self.values: dict[tuple[StateNode, ...], Any] = {}  # state value per active set
        self.root = self._build(config, None, "")
        for node in self.nodes:
            self._initialize(node)

    # -- building ---------------------------------------------------------

    def _build(self, cfg: Any, parent: StateNode | None, key: str) -> StateNode:
        path = (*parent.path, key) if parent else ()
        where = ".".join((self.id, *path))
        if not isinstance(cfg, Mapping):
            raise MachineDefinitionError(where, "a state config must be a dict")
        unknown = set(cfg) - _NODE_KEYS
        if unknown:
            hint = " ('cond' is XState v4; v5 calls it 'guard')" if "cond" in unknown else ""
            raise MachineDefinitionError(where, f"unknown keys {sorted(unknown)}{hint}")
        states_cfg = cfg.get("states")
        if states_cfg is not None and not isinstance(states_cfg, Mapping):
            raise MachineDefinitionError(where, "'states' must be a dict of state configs")
        node_type = cfg.get("type")
        if node_type is None:
            if states_cfg:
                node_type = "compound"
            elif cfg.get("history"):
                node_type = "history"
            else:
                node_type = "atomic"
        if node_type not in _TYPES:
            raise MachineDefinitionError(
                where, f"bad type {node_type!r}; expected one of {sorted(_TYPES)}"
            )
        if node_type == "final" and states_cfg:
            raise MachineDefinitionError(where, "a final state cannot have child states")
        node_id = cfg.get("id") if parent else self.id
        node_id = node_id or where
        if not isinstance(node_id, str) or not node_id:
            raise MachineDefinitionError(where, "'id' must be a non-empty string")
        if node_id in self.ids:
            raise MachineDefinitionError(where, f"duplicate state id '#{node_id}'")
        tags = _as_list(cfg.get("tags"))
        if not all(isinstance(t, str) for t in tags):
            raise MachineDefinitionError(where, "'tags' must be strings")
        node = StateNode(
            key=key,
            id=node_id,
            path=path,
            parent=parent,
            type=node_type,
            order=len(self.nodes),
            config=cfg,
            meta=cfg.get("meta"),
            tags=tuple(tags),
            output=cfg.get("output") if node_type == "final" or parent is None else None,
        )
        self.ids[node_id] = node
        self.nodes.append(node)
        for child_key in js_keys(states_cfg or {}):
            if "." in child_key or child_key.startswith("#") or not child_key:
                raise MachineDefinitionError(
                    where, f"bad state key {child_key!r} (no '.', no leading '#')"
                )
            node.states[child_key] = self._build(states_cfg[child_key], node, child_key)
        if node_type == "history":
            history = cfg.get("history", "shallow")
            history = "shallow" if history is True else history
            if history not in ("shallow", "deep"):
                raise MachineDefinitionError(where, "'history' must be 'shallow' or 'deep'")
            node.history = history
        if node_type == "compound" and "initial" not in cfg:
            first = next(iter(node.states))
            raise MachineDefinitionError(
                where, f'compound state has no \'initial\' (try "initial": "{first}")'
            )
        return node

    def _initialize(self, node: StateNode) -> None:
        where = node.id
        cfg = node.config
        if node.type == "compound":
            initial = cfg["initial"]
            key = initial.get("target") if isinstance(initial, Mapping) else initial
            if key not in node.states:
                raise MachineDefinitionError(
                    where, f"initial state {key!r} is not a child of #{node.id}"
                )
            actions = initial.get("actions") if isinstance(initial, Mapping) else None
            node.initial = Transition(
                source=node,
                event_type="",
                target=(node.states[key],),
                actions=self._actions(actions, f"{where}.initial"),
                guard=None,
                reenter=False,
                config={"target": key},
            )
        node.entry = list(self._actions(cfg.get("entry"), f"{where}.entry"))
        node.exit = list(self._actions(cfg.get("exit"), f"{where}.exit"))
        for key in js_keys(cfg.get("on") or {}):
            if key == "":
                raise MachineDefinitionError(where, "'' cannot be an event; use 'always'")
            node.transitions[key] = self._transitions(node, key, cfg["on"][key], f"on.{key}")
        if "onDone" in cfg:
            descriptor = f"xstate.done.state.{node.id}"
            node.transitions[descriptor] = self._transitions(
                node, descriptor, cfg["onDone"], "onDone"
            )
        self._invokes(node)
        self._delays(node)
        if "always" in cfg:
            node.always = self._transitions(node, "", cfg["always"], "always")
        if node.type == "history" and cfg.get("target") is not None:
            node.history_target = self._targets(
                node, cfg["target"], f"{where}.target", history_of=node.parent
            )
        node.own_events = tuple(
            d
            for d, ts in node.transitions.items()
            if any(t.target is not None or t.actions or t.reenter for t in ts)
        )

    def _invokes(self, node: StateNode) -> None:
        for i, inv in enumerate(_as_list(node.config.get("invoke"))):
            where = f"{node.id}.invoke[{i}]"
            if not isinstance(inv, Mapping):
                raise MachineDefinitionError(where, "an invoke must be a dict with 'src'")
            unknown = set(inv) - _INVOKE_KEYS
            if unknown:
                raise MachineDefinitionError(where, f"unknown keys {sorted(unknown)}")
            src = inv.get("src")
            if not isinstance(src, str) or not src:
                raise MachineDefinitionError(where, "'src' must name a service (a string)")
            invoke_id = inv.get("id") or f"{i}.{node.id}"
            for key, prefix in (
                ("onDone", "xstate.done.actor."),
                ("onError", "xstate.error.actor."),
            ):
                if key in inv:
                    descriptor = prefix + invoke_id
                    node.transitions[descriptor] = self._transitions(
                        node, descriptor, inv[key], f"invoke[{i}].{key}"
                    )
            node.invoke.append(InvokeDef(invoke_id, src, inv.get("input")))
            self.invoke_ids.add(invoke_id)

    def _delays(self, node: StateNode) -> None:
        after = node.config.get("after")
        if after is None:
            return
        if not isinstance(after, Mapping):
            raise MachineDefinitionError(node.id, "'after' must map delays to transitions")
        for key in js_keys(after):
            delay: Any = int(key) if _is_index(key) else key
            if isinstance(delay, str):
                try:
                    delay = float(key)
                    delay = int(delay) if delay.is_integer() else delay
                except ValueError:
                    if key not in self.delays:
                        raise MachineDefinitionError(
                            f"{node.id}.after", f"unknown delay {key!r} (not in delays)"
                        ) from None
            event_type = f"xstate.after.{delay}.{node.id}"
            node.entry.append(
                ActionRef(
                    "raise", "xstate.raise", impl=Raise({"type": event_type}, delay, event_type)
                )
            )
            node.exit.append(ActionRef("cancel", "xstate.cancel", impl=Cancel(event_type)))
            ts = self._transitions(node, event_type, after[key], f"after.{key}")
            for t in ts:
                t.delay = delay
            node.transitions.setdefault(event_type, []).extend(ts)

    # -- transitions ------------------------------------------------------

    def _transitions(
        self, node: StateNode, descriptor: str, cfg: Any, field_name: str
    ) -> list[Transition]:
        result = []
        for i, tcfg in enumerate(_as_list(cfg) if cfg is not None else [None]):
            where = f"{node.id}.{field_name}[{i}]"
            if tcfg is None or isinstance(tcfg, str):
                tcfg = {"target": tcfg}
            if not isinstance(tcfg, Mapping):
                raise MachineDefinitionError(where, "a transition must be a target or a dict")
            unknown = set(tcfg) - _TRANSITION_KEYS
            if unknown:
                hint = " ('cond' is XState v4; v5 calls it 'guard')" if "cond" in unknown else ""
                raise MachineDefinitionError(where, f"unknown keys {sorted(unknown)}{hint}")
            raw_target = tcfg.get("target")
            if raw_target in (None, "") or raw_target == []:
                target = None
            else:
                target = self._targets(node, raw_target, f"{where}.target")
            reenter = tcfg.get("reenter", False)
            if not isinstance(reenter, bool):
                raise MachineDefinitionError(where, "'reenter' must be true or false")
            guard = tcfg.get("guard")
            result.append(
                Transition(
                    source=node,
                    event_type=descriptor,
                    target=target,
                    actions=self._actions(tcfg.get("actions"), f"{where}.actions"),
                    guard=None if guard is None else self._guard(guard, f"{where}.guard"),
                    reenter=reenter,
                    config=tcfg,
                )
            )
        return result

    def _targets(
        self, node: StateNode, raw: Any, where: str, history_of: StateNode | None = None
    ) -> tuple[StateNode, ...]:
        targets = []
        for target in _as_list(raw):
            if not isinstance(target, str) or not target:
                raise MachineDefinitionError(where, f"bad target {target!r}")
            try:
                targets.append(self._resolve_target(node, target, history_of))
            except KeyError as missing:
                raise MachineDefinitionError(
                    where, f"unknown target {target!r} ({missing.args[0]})"
                ) from None
        return tuple(targets)

    def _resolve_target(self, node: StateNode, target: str, base: StateNode | None) -> StateNode:
        if target.startswith("#"):
            return self.node_by_id(target)
        if base is not None:
            return self._by_path(base, target)
        if target.startswith("."):
            return self._by_path(node, target[1:])
        if node.parent is None:
            raise KeyError(f"from the root, write '.{target}' for a child")
        return self._by_path(node.parent, target)

    def node_by_id(self, ref: str) -> StateNode:
        """Resolve ``#id`` or ``#id.child.path`` to a node; KeyError if none."""
        head, *rest = ref[1:].split(".")
        if ref[1:] in self.ids:
            return self.ids[ref[1:]]
        if head not in self.ids:
            raise KeyError(f"no state has id '#{head}'")
        return self._by_path(self.ids[head], ".".join(rest))

    @staticmethod
    def _by_path(node: StateNode, path: str) -> StateNode:
        for key in path.split(".") if path else ():
            if not key:
                break
            if key not in node.states:
                raise KeyError(f"'{key}' is not a child of #{node.id}")
            node = node.states[key]
        return node

    # -- actions and guards -----------------------------------------------

    def _actions(self, raw: Any, where: str) -> tuple[ActionRef, ...]:
        return tuple(self._action(a, f"{where}[{i}]") for i, a in enumerate(_as_list(raw)))

    def _action(self, raw: Any, where: str) -> ActionRef:
        params = None
        if type(raw) in KINDS:
            return _builtin(raw, None)
        if isinstance(raw, Mapping):
            name = raw.get("type")
            params = raw.get("params")
            if name == "xstate.raise" and "event" in raw:
                return _builtin(Raise(raw["event"], raw.get("delay"), raw.get("id")), None)
            try:
                builtin = from_json(raw)
            except (TypeError, KeyError) as bad:
                raise MachineDefinitionError(where, f"{name}: {bad}") from None
            if builtin is not None:
                return _builtin(builtin, None)
        else:
            name = raw
        if not isinstance(name, str) or not name:
            raise MachineDefinitionError(
                where, f"an action must be a name or {{type, params}}, got {raw!r}"
            )
        if name not in self.actions:
            raise MachineDefinitionError(where, f"unknown action {name!r} (not in actions)")
        impl = self.actions[name]
        if type(impl) in KINDS:
            return _builtin(impl, params, name)
        if not callable(impl):
            raise MachineDefinitionError(where, f"action {name!r} is not callable")
        return ActionRef("effect", name, params, impl)

    def _guard(self, raw: Any, where: str) -> GuardRef:
        if isinstance(raw, str):
            return self._named_guard(raw, None, where)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
            raise MachineDefinitionError(
                where, f"a guard must be a name or {{type, ...}}, got {raw!r}"
            )
        kind = raw["type"].removeprefix("xstate.")
        if kind in ("and", "or"):
            children = raw.get("guards")
            if not isinstance(children, (list, tuple)) or not children:
                raise MachineDefinitionError(where, f"'{kind}' needs a non-empty 'guards' list")
            return GuardRef(
                kind,
                kind,
                children=tuple(
                    self._guard(g, f"{where}.{kind}[{i}]") for i, g in enumerate(children)
                ),
            )
        if kind == "not":
            inner = raw.get("guard", (raw.get("guards") or [None])[0])
            if inner is None:
                raise MachineDefinitionError(where, "'not' needs a 'guard'")
            return GuardRef("not", "not", children=(self._guard(inner, f"{where}.not"),))
        if kind == "stateIn":
            state = raw.get("state")
            if isinstance(state, str) and state.startswith("#"):
                try:
                    self.node_by_id(state)
                except KeyError as missing:
                    raise MachineDefinitionError(where, f"stateIn: {missing.args[0]}") from None
            elif not isinstance(state, (str, Mapping)):
                raise MachineDefinitionError(where, "stateIn needs 'state': '#id' or a state value")
            return GuardRef("stateIn", "stateIn", state=state)
        return self._named_guard(raw["type"], raw.get("params"), where)

    def action_ref(self, raw: Any, where: str) -> ActionRef:
        """Resolve an action given at run time (by ``enqueueActions``) as one in the config."""
        return self._action(raw, where)

    def guard_ref(self, raw: Any) -> GuardRef:
        """Resolve a guard given at run time (``enqueue.check``) as one in the config."""
        return self._guard(raw, "enqueueActions.check")

    def _named_guard(self, name: str, params: Any, where: str) -> GuardRef:
        impl = self.guards.get(name)
        if impl is None:
            raise MachineDefinitionError(where, f"unknown guard {name!r} (not in guards)")
        if not callable(impl):
            raise MachineDefinitionError(where, f"guard {name!r} is not callable")
        return GuardRef("named", name, params, impl)


def _builtin(impl: Any, params: Any, name: str | None = None) -> ActionRef:
    return ActionRef(KINDS[type(impl)], name or impl.type, params, impl)
