"""What a microstep does to the active set, worked out once per situation and cached.

Which states a set of transitions exits and enters, in which order, which history
it records and which done events it raises depend only on the active nodes (in
their order), the transitions and the history, never on context or event. So
``plan_for`` runs XState's ``exitStates``/``enterStates`` (line by line, below) once
for each such situation and keeps the outcome as a list of operations; a microstep
replays it against the context. Real charts meet few situations, so a warm
process almost never plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .definition import ActionRef, InvokeDef, StateNode, Transition
from .tree import children_of, in_final_state, is_descendant

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any

    from .definition import Definition

PLAN_LIMIT = 4096

# Operations of a plan, in execution order.
ACTIONS = 0  # arg: a tuple of ActionRef to resolve
DONE_STATE = 1  # arg: (final node entered, "xstate.done.state.<parent id>")
DONE_PARALLEL = 2  # arg: "xstate.done.state.<parallel id>"
DONE_MACHINE = 3  # arg: the node whose completion finishes the machine
ENTRY = 4  # arg: (actions, invoke ids): a state's entry, whose sendTo may name its invokes


class Plan:
    """One microstep's effect on the active set: ``ops`` to replay, then the new set.

    ``moved`` is False when the step leaves the set and history as they were (XState
    then keeps its node list and order); otherwise ``nodes`` is the new active set in
    XState's order and ``history`` the new history, or None if it is unchanged.
    """

    __slots__ = ("history", "moved", "nodes", "ops")

    def __init__(
        self,
        ops: tuple[tuple[int, Any], ...],
        nodes: tuple[StateNode, ...],
        history: Mapping[str, tuple[StateNode, ...]] | None,
        moved: bool,
    ) -> None:
        self.ops = ops
        self.nodes = nodes
        self.history = history
        self.moved = moved


def plan_for(
    definition: Definition,
    nodes: tuple[StateNode, ...],
    transitions: list[Transition],
    history: Mapping[str, tuple[StateNode, ...]],
    initial: bool = False,
) -> Plan:
    """The (memoised) plan of taking ``transitions`` from ``nodes`` with ``history``."""
    key = (nodes, tuple(transitions), initial, tuple(history.items()) if history else ())
    plan = definition.plans.get(key)
    if plan is None:
        plan = _build(definition.root, nodes, transitions, history, initial)
        if len(definition.plans) < PLAN_LIMIT:
            definition.plans[key] = plan
    return plan


def _build(
    root: StateNode,
    nodes: tuple[StateNode, ...],
    transitions: list[Transition],
    history: Mapping[str, tuple[StateNode, ...]],
    initial: bool,
) -> Plan:
    ops: list[tuple[int, Any]] = []
    active = dict.fromkeys(nodes)
    filtered = remove_conflicting(transitions, active, history)
    after = history if initial else _plan_exits(ops, filtered, active, history)
    ops.append((ACTIONS, tuple(a for t in filtered for a in t.actions)))
    if _plan_entries(ops, root, filtered, active, after, initial):
        ordered = sorted(active, key=lambda n: n.order, reverse=True)
        ops.append((ACTIONS, tuple(a for n in ordered for a in n.exit)))
    ops = _merged(ops)
    if after is history and active.keys() == dict.fromkeys(nodes).keys():
        return Plan(ops, nodes, None, False)
    return Plan(ops, tuple(active), None if after is history else after, True)


def _merged(ops: list[tuple[int, Any]]) -> tuple[tuple[int, Any], ...]:
    """Adjacent action lists joined, empty ones dropped: fewer steps to replay."""
    merged: list[tuple[int, Any]] = []
    for op, arg in ops:
        if op == ACTIONS:
            if not arg:
                continue
            if merged and merged[-1][0] == ACTIONS:
                merged[-1] = (ACTIONS, merged[-1][1] + arg)
                continue
        merged.append((op, arg))
    return tuple(merged)


def _plan_exits(
    ops: list[tuple[int, Any]],
    transitions: list[Transition],
    active: dict[StateNode, None],
    history: Mapping[str, tuple[StateNode, ...]],
) -> Mapping[str, tuple[StateNode, ...]]:
    """XState's ``exitStates``: record history, exit in reverse document order."""
    to_exit = sorted(exit_set(transitions, active, history), key=lambda n: -n.order)
    changed: dict[str, tuple[StateNode, ...]] | None = None
    for node in to_exit:
        for hist in (c for c in node.states.values() if c.type == "history"):
            if hist.history == "deep":
                remembered = tuple(n for n in active if n.atomic and node in n.ancestors)
            else:
                remembered = tuple(n for n in active if n.parent is node)
            if changed is None:
                changed = dict(history)
            changed[hist.id] = remembered
    for node in to_exit:
        ops.append((ACTIONS, (*node.exit, *(_stop(i) for i in node.invoke))))
        del active[node]
    return history if changed is None else changed


def _plan_entries(
    ops: list[tuple[int, Any]],
    root: StateNode,
    transitions: list[Transition],
    active: dict[StateNode, None],
    history: Mapping[str, tuple[StateNode, ...]],
    initial: bool,
) -> bool:
    """XState's ``enterStates``; True when entering finishes the machine."""
    to_enter: dict[StateNode, None] = {}
    default_entry: set[StateNode] = set()
    entry_set(transitions, history, default_entry, to_enter)
    if initial:
        default_entry.add(root)
    completed: set[StateNode] = set()
    done = False
    for node in sorted(to_enter, key=lambda n: n.order):
        active[node] = None
        actions = [*node.entry, *(_spawn(i) for i in node.invoke)]
        if node in default_entry and node.initial is not None:
            actions.extend(node.initial.actions)
        if node.invoke:
            # XState resolves a sendTo to one of these invokes after they start
            ops.append((ENTRY, (tuple(actions), tuple(i.id for i in node.invoke))))
        else:
            ops.append((ACTIONS, tuple(actions)))
        if node.type != "final":
            continue
        parent = node.parent
        marker = (
            parent
            if parent is not None and parent.type == "parallel"
            else (parent.parent if parent is not None else None)
        )
        completion = marker or node
        if parent is not None and parent.type == "compound":
            ops.append((DONE_STATE, (node, f"xstate.done.state.{parent.id}")))
        while (
            marker is not None
            and marker.type == "parallel"
            and marker not in completed
            and in_final_state(active, marker)
        ):
            completed.add(marker)
            ops.append((DONE_PARALLEL, f"xstate.done.state.{marker.id}"))
            completion = marker
            marker = marker.parent
        if marker is None:
            done = True
            ops.append((DONE_MACHINE, completion))
    return done


def _spawn(invoke: InvokeDef) -> ActionRef:
    return ActionRef("spawn", "xstate.spawnChild", impl=invoke)


def _stop(invoke: InvokeDef) -> ActionRef:
    return ActionRef("stop", "xstate.stopChild", impl=invoke)


# -- domains, exit and entry sets (XState's stateUtils) ------------------------


def history_default(node: StateNode) -> tuple[tuple[StateNode, ...], bool]:
    """Targets of a history node's default transition, and whether it is the parent's initial."""
    if node.history_target:
        return node.history_target, False
    if node.parent.type == "parallel":
        return (node.parent,), False
    return node.parent.initial.target, True


def effective_targets(t: Transition, history: Mapping[str, Any]) -> list[StateNode]:
    if not t.target:
        return []
    targets: dict[StateNode, None] = {}
    for node in t.target:
        if node.type == "history":
            if node.id in history:
                targets.update(dict.fromkeys(history[node.id]))
            else:
                defaults, _ = history_default(node)
                for d in defaults:
                    if d.type == "history":
                        targets.update(dict.fromkeys(_history_targets(d, history)))
                    else:
                        targets[d] = None
        else:
            targets[node] = None
    return list(targets)


def _history_targets(node: StateNode, history: Mapping[str, Any]) -> list[StateNode]:
    fake = Transition(node, "", (node,), (), None, False, {})
    return effective_targets(fake, history)


def transition_domain(t: Transition, history: Mapping[str, Any]) -> StateNode | None:
    targets = effective_targets(t, history)
    source = t.source
    if not t.reenter and all(n is source or source in n.ancestors for n in targets):
        return source
    head, *tail = [*targets, source]
    for anc in head.ancestors:
        if all(anc in n.ancestors for n in tail):
            return anc
    if t.reenter:
        return None
    return source.ancestors[-1] if source.ancestors else source


def exit_set(
    transitions: Iterable[Transition], nodes: Iterable[StateNode], history: Mapping[str, Any]
) -> dict[StateNode, None]:
    result: dict[StateNode, None] = {}
    for t in transitions:
        if t.target:
            domain = transition_domain(t, history)
            if t.reenter and t.source is domain:
                result[domain] = None
            for node in nodes:
                if is_descendant(node, domain):
                    result[node] = None
    return result


def remove_conflicting(
    enabled: list[Transition], nodes: Mapping[StateNode, Any], history: Mapping[str, Any]
) -> list[Transition]:
    if len(enabled) < 2:
        return enabled
    kept: dict[Transition, None] = {}
    for t1 in enabled:
        preempted = False
        to_remove = []
        exits1 = exit_set([t1], nodes, history)
        for t2 in kept:
            if exits1.keys() & exit_set([t2], nodes, history).keys():
                if is_descendant(t1.source, t2.source):
                    to_remove.append(t2)
                else:
                    preempted = True
                    break
        if not preempted:
            for t3 in to_remove:
                del kept[t3]
            kept[t1] = None
    return list(kept)


def entry_set(
    transitions: list[Transition],
    history: Mapping[str, Any],
    default_entry: set[StateNode],
    to_enter: dict[StateNode, None],
) -> None:
    for t in transitions:
        domain = transition_domain(t, history)
        for s in t.target or ():
            if s.type != "history" and (t.source is not s or t.source is not domain or t.reenter):
                to_enter[s] = None
                default_entry.add(s)
            _add_descendants(s, history, default_entry, to_enter)
        for s in effective_targets(t, history):
            ancestors = _proper_ancestors(s, domain)
            if domain is not None and domain.type == "parallel":
                ancestors.append(domain)
            reentrancy = None if (t.source.parent is None and t.reenter) else domain
            _add_ancestors(to_enter, history, default_entry, ancestors, reentrancy)


def _proper_ancestors(node: StateNode, upto: StateNode | None) -> list[StateNode]:
    if node is upto:
        return []
    result = []
    for anc in node.ancestors:
        if anc is upto:
            break
        result.append(anc)
    return result


def _add_descendants(
    node: StateNode,
    history: Mapping[str, Any],
    default_entry: set[StateNode],
    to_enter: dict[StateNode, None],
) -> None:
    if node.type == "history":
        if node.id in history:
            remembered = history[node.id]
        else:
            remembered, is_initial = history_default(node)
            if is_initial:
                default_entry.add(node.parent)
        for s in remembered:
            to_enter[s] = None
            _add_descendants(s, history, default_entry, to_enter)
        for s in remembered:
            _add_ancestors(
                to_enter, history, default_entry, _proper_ancestors(s, node.parent), None
            )
    elif node.type == "compound":
        initial = node.initial.target[0]
        if initial.type != "history":
            to_enter[initial] = None
            default_entry.add(initial)
        _add_descendants(initial, history, default_entry, to_enter)
        _add_ancestors(to_enter, history, default_entry, _proper_ancestors(initial, node), None)
    elif node.type == "parallel":
        for child in children_of(node):
            if not any(is_descendant(s, child) for s in to_enter):
                to_enter[child] = None
                default_entry.add(child)
                _add_descendants(child, history, default_entry, to_enter)


def _add_ancestors(
    to_enter: dict[StateNode, None],
    history: Mapping[str, Any],
    default_entry: set[StateNode],
    ancestors: list[StateNode],
    reentrancy: StateNode | None,
) -> None:
    for anc in ancestors:
        if reentrancy is None or is_descendant(anc, reentrancy):
            to_enter[anc] = None
        if anc.type == "parallel":
            for child in children_of(anc):
                if not any(is_descendant(s, child) for s in to_enter):
                    to_enter[child] = None
                    _add_descendants(child, history, default_entry, to_enter)
