"""The SCXML-derived step algorithm, following XState v5's ``stateUtils`` line by line.

A macrostep takes one external event and runs microsteps (the event's
transitions, then eventless transitions and raised events) until the chart is
stable. Transitions are selected here (guards need the context); what each
microstep exits and enters comes from its plan (``plans.py``). Nothing here does
I/O: actions other than assign/raise are recorded as effects in a ``Work`` and
returned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from .definition import StateNode, Transition
from .guards import evaluate_guard
from .plans import ACTIONS, DONE_PARALLEL, DONE_STATE, ENTRY, plan_for, remove_conflicting
from .resolve import UnknownActorError, resolve_actions, stop_kind
from .snapshot import Effect
from .tree import shared_value

__all__ = [
    "InfiniteLoopError",
    "UnknownActorError",
    "Work",
    "evaluate_guard",
    "macrostep",
    "microstep",
    "resolve_actions",
    "select_transitions",
    "stop_children",
]

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
        # the active set in XState's order; replaced (never mutated) by each microstep
        self.nodes: tuple[StateNode, ...] = tuple(nodes)
        self.history = history
        self.children = children
        self.status = "active"
        self.output: Any = None
        self.error: Any = None
        self.effects: list[Effect] = []
        self.queue: deque[Mapping[str, Any]] = deque()
        self.changed = False


# -- guards and transition selection ----------------------------------------


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
    return visit(root, shared_value(root, work.nodes, work.definition.values))


def select_eventless(work: Work, event: Mapping[str, Any]) -> list[Transition]:
    """XState's ``selectEventlessTransitions``: per atomic state, the first enabled
    ``always`` transition of it or its nearest ancestor that has one."""
    chains = work.definition.always_chains.get(work.nodes)
    if chains is None:
        chains = _always_chains(work.nodes)
        if len(work.definition.always_chains) < _CACHE_LIMIT:
            work.definition.always_chains[work.nodes] = chains
    enabled: dict[Transition, None] = {}
    for chain in chains:
        for t in chain:
            if t.guard is None or evaluate_guard(t.guard, work, event):
                enabled[t] = None
                break
    return remove_conflicting(list(enabled), work.nodes, work.history)


def _always_chains(nodes: tuple[StateNode, ...]) -> tuple[tuple[Transition, ...], ...]:
    """For each atomic state, the ``always`` transitions of it and its ancestors, in
    the order they are tried; chains without any are left out."""
    chains = []
    for atomic in (n for n in nodes if n.atomic):
        chain = tuple(t for node in (atomic, *atomic.ancestors) for t in node.always)
        if chain:
            chains.append(chain)
    return tuple(chains)


def _resolve_output(output: Any, work: Work, event: Mapping[str, Any]) -> Any:
    return output(work.context, event) if callable(output) else output


# -- microstep and macrostep --------------------------------------------------


def microstep(
    work: Work, transitions: list[Transition], event: Mapping[str, Any], initial: bool = False
) -> None:
    """Take ``transitions`` together: replay their plan against the context."""
    if not transitions:
        return
    plan = plan_for(work.definition, work.nodes, transitions, work.history, initial)
    for op, arg in plan.ops:
        if op == ACTIONS:
            resolve_actions(work, event, arg)
        elif op == ENTRY:
            resolve_actions(work, event, *arg)
        elif op == DONE_STATE:
            node, event_type = arg
            output = None if node.output is None else _resolve_output(node.output, work, event)
            work.queue.append({"type": event_type, "output": output})
        elif op == DONE_PARALLEL:
            work.queue.append({"type": arg, "output": None})
        else:
            _finish(work, event, arg)
    if plan.moved:
        work.nodes = plan.nodes
        if plan.history is not None:
            work.history = plan.history
        work.changed = True


def _finish(work: Work, event: Mapping[str, Any], completion: StateNode) -> None:
    """The machine reached its final configuration through ``completion``."""
    work.status = "done"
    work.changed = True
    root = work.definition.root
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
            stop_children(work, event)
            work.children = {}  # XState keeps no children in this error snapshot
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
        stop_children(work, current)
    return handled


def stop_children(work: Work, event: Mapping[str, Any]) -> None:
    """Stop every child; the snapshot keeps listing them, as XState's done one does."""
    for child_id, src in work.children.items():
        work.effects.append(Effect(stop_kind(work, child_id), src, id=child_id, event=event))
