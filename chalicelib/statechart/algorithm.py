"""The SCXML-derived step algorithm, following XState v5's ``stateUtils`` line by line.

A macrostep takes one external event and runs microsteps (the event's
transitions, then eventless transitions and raised events) until the chart is
stable. Nothing here does I/O: actions other than assign/raise are recorded as
effects in a ``Work`` and returned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from .definition import ActionRef, GuardRef, InvokeDef, StateNode, Transition
from .snapshot import Effect
from .tree import (
    children_of,
    in_final_state,
    is_descendant,
    matches_state,
    shared_value,
)

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any

MAX_MICROSTEPS = 10_000
_CACHE_LIMIT = 512


class InfiniteLoopError(RuntimeError):
    """Eventless transitions or raised events never settled within one macrostep."""


class Work:
    """The mutable state of one macrostep; never shared between calls."""

    __slots__ = (
        "changed",
        "children",
        "context",
        "definition",
        "delays",
        "effects",
        "error",
        "history",
        "nodes",
        "output",
        "queue",
        "status",
    )

    def __init__(
        self,
        definition: Any,
        context: Mapping[str, Any],
        nodes: Iterable[StateNode],
        history: Mapping[str, tuple[StateNode, ...]],
        children: Mapping[str, str],
    ) -> None:
        self.definition = definition
        self.delays = definition.delays
        self.context = context
        self.nodes: dict[StateNode, None] = dict.fromkeys(nodes)
        self.history = history
        self.children = children
        self.status = "active"
        self.output: Any = None
        self.error: Any = None
        self.effects: list[Effect] = []
        self.queue: deque[Mapping[str, Any]] = deque()
        self.changed = False


# -- guards and transition selection ----------------------------------------


def evaluate_guard(guard: GuardRef, work: Work, event: Mapping[str, Any]) -> bool:
    kind = guard.kind
    if kind == "named":
        if guard.params is None:
            return bool(guard.impl(work.context, event))
        params = guard.params(work.context, event) if callable(guard.params) else guard.params
        return bool(guard.impl(work.context, event, params))
    if kind == "and":
        return all(evaluate_guard(g, work, event) for g in guard.children)
    if kind == "or":
        return any(evaluate_guard(g, work, event) for g in guard.children)
    if kind == "not":
        return not evaluate_guard(guard.children[0], work, event)
    state = guard.state
    if isinstance(state, str) and state.startswith("#"):
        return work.definition.node_by_id(state) in work.nodes
    return matches_state(state, shared_value(work.definition.root, work.nodes))


def matches_descriptor(event_type: str, descriptor: str) -> bool:
    if descriptor == event_type or descriptor == "*":
        return True
    if not descriptor.endswith(".*"):
        return False
    event_tokens = event_type.split(".")
    for i, token in enumerate(descriptor.split(".")):
        if token == "*":
            return i == descriptor.count(".")
        if i >= len(event_tokens) or token != event_tokens[i]:
            return False
    return True


def candidates(node: StateNode, event_type: str) -> list[Transition]:
    cached = node.candidates.get(event_type)
    if cached is not None:
        return cached
    exact = node.transitions.get(event_type, [])
    partial = sorted(
        (d for d in node.transitions if d != event_type and matches_descriptor(event_type, d)),
        key=len,
        reverse=True,
    )
    found = [*exact, *(t for d in partial for t in node.transitions[d])]
    if len(node.candidates) < _CACHE_LIMIT:
        node.candidates[event_type] = found
    return found


def _next(node: StateNode, work: Work, event: Mapping[str, Any]) -> list[Transition]:
    for t in candidates(node, event["type"]):
        if t.guard is None or evaluate_guard(t.guard, work, event):
            return [t]
    return []


def select_transitions(work: Work, event: Mapping[str, Any]) -> list[Transition]:
    """XState's ``transitionNode``: walk the state *value* by its shape, not the node set.

    The value is that of the completed node set, and its shape decides: a value
    with one key is walked as a compound state, with several keys as a parallel
    one, whatever the node's type. They differ after transitions that leave the
    active set without some ancestors (a region re-entered through history while
    its parallel parent re-enters), and XState's choice is the one to match.
    """

    def visit(node: StateNode, value: Any) -> list[Transition]:
        if type(value) is str:
            return _next(node.states[value], work, event) or _next(node, work, event)
        if len(value) == 1:
            for key, sub in value.items():
                return visit(node.states[key], sub) or _next(node, work, event)
        found = [t for key, sub in value.items() for t in visit(node.states[key], sub)]
        return found or _next(node, work, event)

    root = work.definition.root
    return visit(root, shared_value(root, work.nodes))


def select_eventless(work: Work, event: Mapping[str, Any]) -> list[Transition]:
    enabled: dict[Transition, None] = {}
    for atomic in [n for n in work.nodes if n.atomic]:
        found = False
        for node in (atomic, *atomic.ancestors):
            for t in node.always:
                if t.guard is None or evaluate_guard(t.guard, work, event):
                    enabled[t] = None
                    found = True
                    break
            if found:
                break
    return remove_conflicting(list(enabled), work.nodes, work.history)


# -- domains, exit and entry sets -------------------------------------------


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


# -- actions ----------------------------------------------------------------


def _spawn(invoke: InvokeDef) -> ActionRef:
    return ActionRef("spawn", "xstate.spawnChild", impl=invoke)


def _stop(invoke: InvokeDef) -> ActionRef:
    return ActionRef("stop", "xstate.stopChild", impl=invoke)


def resolve_actions(work: Work, event: Mapping[str, Any], actions: Iterable[ActionRef]) -> None:
    for action in actions:
        kind = action.kind
        params = action.params
        if callable(params):
            params = params(work.context, event)
        if kind == "effect":
            work.effects.append(
                Effect("action", action.type, params=params, event=event, context=work.context)
            )
        elif kind == "assign":
            work.context = action.impl.apply(work.context, event, params)
            work.changed = True
        elif kind == "raise":
            _raise(work, event, action)
        elif kind == "cancel":
            work.effects.append(
                Effect("cancel_schedule", "xstate.cancel", id=action.impl.send_id, event=event)
            )
        elif kind == "spawn":
            invoke = action.impl
            data = invoke.input
            if callable(data):
                data = data(work.context, event)
            work.children = {**work.children, invoke.id: invoke.src}
            work.changed = True
            work.effects.append(
                Effect(
                    "invoke",
                    invoke.src,
                    id=invoke.id,
                    input=data,
                    event=event,
                    context=work.context,
                )
            )
        else:  # stop
            invoke = action.impl
            work.changed = True
            # Exiting a state whose invoke is not running (a restore brought the state
            # back without its child) stops nothing, as in XState: no effect.
            if invoke.id in work.children:
                work.children = {k: v for k, v in work.children.items() if k != invoke.id}
                work.effects.append(Effect("cancel_invoke", invoke.src, id=invoke.id, event=event))


def _raise(work: Work, event: Mapping[str, Any], action: ActionRef) -> None:
    impl = action.impl
    raised = impl.event(work.context, event) if callable(impl.event) else impl.event
    delay = impl.delay
    if isinstance(delay, str):
        delay = work.delays.get(delay)
    if callable(delay):
        delay = delay(work.context, event)
    if isinstance(delay, (int, float)) and not isinstance(delay, bool):
        work.effects.append(
            Effect(
                "schedule",
                "xstate.raise",
                id=impl.id or raised["type"],
                delay_ms=delay,
                event=raised,
                context=work.context,
            )
        )
    else:
        work.queue.append(raised)


def _resolve_output(output: Any, work: Work, event: Mapping[str, Any]) -> Any:
    return output(work.context, event) if callable(output) else output


# -- microstep and macrostep --------------------------------------------------


def microstep(
    work: Work, transitions: list[Transition], event: Mapping[str, Any], initial: bool = False
) -> None:
    if not transitions:
        return
    history = history_before = work.history
    nodes_before = dict(work.nodes)
    filtered = remove_conflicting(transitions, work.nodes, history)
    if not initial:
        history = _exit_states(work, event, filtered)
    resolve_actions(work, event, (a for t in filtered for a in t.actions))
    _enter_states(work, event, filtered, history, initial)
    if work.status == "done":
        ordered = sorted(work.nodes, key=lambda n: n.order, reverse=True)
        resolve_actions(work, event, (a for n in ordered for a in n.exit))
    if work.history is history_before and work.nodes.keys() == nodes_before.keys():
        # XState keeps the previous node list (and its order) when the set is unchanged
        work.nodes = nodes_before
    else:
        work.changed = True


def _exit_states(work: Work, event: Mapping[str, Any], transitions: list[Transition]) -> Any:
    to_exit = sorted(exit_set(transitions, work.nodes, work.history), key=lambda n: -n.order)
    changed_history = None
    for node in to_exit:
        for hist in (c for c in node.states.values() if c.type == "history"):
            if hist.history == "deep":
                remembered = tuple(n for n in work.nodes if n.atomic and node in n.ancestors)
            else:
                remembered = tuple(n for n in work.nodes if n.parent is node)
            if changed_history is None:
                changed_history = dict(work.history)
            changed_history[hist.id] = remembered
    for node in to_exit:
        resolve_actions(work, event, [*node.exit, *(_stop(i) for i in node.invoke)])
        del work.nodes[node]
    if changed_history is not None:
        work.history = changed_history
    return work.history


def _enter_states(
    work: Work,
    event: Mapping[str, Any],
    transitions: list[Transition],
    history: Mapping[str, Any],
    initial: bool,
) -> None:
    to_enter: dict[StateNode, None] = {}
    default_entry: set[StateNode] = set()
    entry_set(transitions, history, default_entry, to_enter)
    root = work.definition.root
    if initial:
        default_entry.add(root)
    completed: set[StateNode] = set()
    for node in sorted(to_enter, key=lambda n: n.order):
        work.nodes[node] = None
        actions = [*node.entry, *(_spawn(i) for i in node.invoke)]
        if node in default_entry and node.initial is not None:
            actions.extend(node.initial.actions)
        resolve_actions(work, event, actions)
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
            output = None if node.output is None else _resolve_output(node.output, work, event)
            work.queue.append({"type": f"xstate.done.state.{parent.id}", "output": output})
        while (
            marker is not None
            and marker.type == "parallel"
            and marker not in completed
            and in_final_state(work.nodes, marker)
        ):
            completed.add(marker)
            work.queue.append({"type": f"xstate.done.state.{marker.id}", "output": None})
            completion = marker
            marker = marker.parent
        if marker is not None:
            continue
        work.status = "done"
        work.changed = True
        if root.output is not None:
            output = None
            if completion.output is not None and completion.parent is not None:
                output = _resolve_output(completion.output, work, event)
            done_event = {"type": f"xstate.done.state.{completion.id}", "output": output}
            work.output = _resolve_output(root.output, work, done_event)


def macrostep(work: Work, event: Mapping[str, Any], initial: bool = False) -> bool:
    """Run one macrostep in ``work``; return whether anything changed."""
    handled = False
    if not initial:
        transitions = select_transitions(work, event)
        if not transitions and event["type"].startswith("xstate.error.actor"):
            work.status = "error"
            work.error = event.get("error")
            _stop_children(work, event)
            return True
        if transitions:
            microstep(work, transitions, event)
            handled = True
    current = event
    select_eventless_next = True
    steps = 0
    while work.status == "active":
        steps += 1
        if steps > MAX_MICROSTEPS:
            raise InfiniteLoopError(
                f"no stable state after {MAX_MICROSTEPS} microsteps: a cycle of eventless "
                "transitions or raised events"
            )
        enabled = select_eventless(work, current) if select_eventless_next else []
        if enabled:
            work.changed = False
            microstep(work, enabled, current)
            select_eventless_next = work.changed
            handled = True
            continue
        if not work.queue:
            break
        current = work.queue.popleft()
        enabled = select_transitions(work, current)
        microstep(work, enabled, current)
        select_eventless_next = True
        handled = handled or bool(enabled)
    if work.status != "active":
        _stop_children(work, current)
    return handled


def _stop_children(work: Work, event: Mapping[str, Any]) -> None:
    for child_id, src in work.children.items():
        work.effects.append(Effect("cancel_invoke", src, id=child_id, event=event))
    work.children = {}
