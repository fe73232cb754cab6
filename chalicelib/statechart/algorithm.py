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

from .definition import ActionRef, GuardRef, StateNode, Transition
from .actions import PARENT, SELF, Enqueue
from .plans import ACTIONS, DONE_PARALLEL, DONE_STATE, ENTRY, plan_for, remove_conflicting
from .snapshot import Effect
from .tree import matches_state, shared_value

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any

MAX_MICROSTEPS = 10_000
_CACHE_LIMIT = 512


class InfiniteLoopError(RuntimeError):
    """Eventless transitions or raised events never settled within one macrostep."""


class UnknownActorError(LookupError):
    """A ``sendTo`` names an actor this machine has no child of that id for."""


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
    definition = work.definition
    return matches_state(state, shared_value(definition.root, work.nodes, definition.values))


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


# -- actions ----------------------------------------------------------------


def resolve_actions(
    work: Work,
    event: Mapping[str, Any],
    actions: Iterable[ActionRef],
    deferred: tuple[str, ...] = (),
) -> None:
    """Apply assigns and raises to ``work``; record every other action as an effect.

    ``deferred`` are the ids of invokes started later in the same list (a state's
    entry actions run before its invokes start), which a ``sendTo`` may name.
    """
    effects = work.effects
    for action in actions:
        kind = action.kind
        params = action.params(work.context, event) if action.dynamic else action.params
        if kind == "assign":
            work.context = action.impl.apply(work.context, event, params)
            work.changed = True
        elif kind == "effect":
            # Effect(kind, type, id, params, input, delay_ms, event, context)
            effects.append(
                Effect("action", action.type, None, params, None, None, event, work.context)
            )
        elif kind == "raise":
            _raise(work, event, action)
        elif kind == "cancel":
            effects.append(
                Effect("cancel_schedule", "xstate.cancel", action.impl.send_id, event=event)
            )
        elif kind == "spawn":
            invoke = action.impl
            _start_child(work, event, "invoke", invoke.src, invoke.id, invoke.input)
        elif kind == "stop":
            # Exiting a state whose invoke is not running (a restore brought the state
            # back without its child, or stopChild stopped it) stops nothing, as in
            # XState: no effect.
            _stop_child(work, event, action.impl.id)
        elif kind == "spawn_child":
            spawn = action.impl
            child_id = spawn.id(work.context, event) if callable(spawn.id) else spawn.id
            _start_child(work, event, "spawn", spawn.src, child_id, spawn.input)
        elif kind == "stop_child":
            stop = action.impl
            _stop_child(work, event, stop.id(work.context, event) if callable(stop.id) else stop.id)
        elif kind == "send":
            _send(work, event, action.impl, params, deferred)
        else:  # enqueue
            _enqueue(work, event, action.impl, params, deferred)


def _start_child(
    work: Work, event: Mapping[str, Any], kind: str, src: str, child_id: Any, data: Any
) -> None:
    if not isinstance(child_id, str) or not child_id:
        raise TypeError(f"a child actor needs a non-empty string id, got {child_id!r}")
    if callable(data):
        data = data(work.context, event)
    work.children = {**work.children, child_id: src}
    work.changed = True
    # Effect(kind, type, id, params, input, delay_ms, event, context)
    work.effects.append(Effect(kind, src, child_id, None, data, None, event, work.context))


def _stop_child(work: Work, event: Mapping[str, Any], child_id: str) -> None:
    work.changed = True
    src = work.children.get(child_id)
    if src is None:
        return
    work.children = {k: v for k, v in work.children.items() if k != child_id}
    work.effects.append(Effect(_stop_kind(work, child_id), src, child_id, event=event))


def _stop_kind(work: Work, child_id: str) -> str:
    """``cancel_invoke`` for a child an invoke started (the runtime drops its pending
    command), ``stop`` for one a spawnChild started."""
    return "cancel_invoke" if child_id in work.definition.invoke_ids else "stop"


def _send(
    work: Work, event: Mapping[str, Any], send: Any, params: Any, deferred: tuple[str, ...]
) -> None:
    """XState's ``sendTo``: resolve event, target and delay now; the host delivers."""
    sent = send.event(work.context, event) if callable(send.event) else send.event
    to = send.to(work.context, event) if callable(send.to) else send.to
    if to == PARENT:
        target: str | None = PARENT
    elif to == SELF:
        target = None
    else:
        target = to[2:] if to.startswith("#_") else to
        if target not in work.children and (to.startswith("#_") or target not in deferred):
            machine_id = work.definition.id
            raise UnknownActorError(
                f"Unable to send event to actor '{to}' from machine '{machine_id}'."
            )
    delay = _delay(work, event, send.delay)
    if delay is not None:
        work.effects.append(
            Effect(
                "schedule",
                "xstate.sendTo",
                id=send.id or sent["type"],
                delay_ms=delay,
                event=sent,
                context=work.context,
                to=target,
            )
        )
    elif target == PARENT:
        work.effects.append(Effect("send_parent", "xstate.sendParent", event=sent, to=PARENT))
    else:
        work.effects.append(Effect("send_to", "xstate.sendTo", event=sent, to=target))


def _enqueue(
    work: Work, event: Mapping[str, Any], impl: Any, params: Any, deferred: tuple[str, ...]
) -> None:
    """XState's ``enqueueActions``: collect with the current context, then run in order."""
    definition = work.definition
    enqueue = Enqueue(
        lambda guard: evaluate_guard(definition.guard_ref(guard), work, event)
    )
    extra = () if params is None else (params,)
    impl.collect(work.context, event, enqueue, *extra)
    refs = [definition.action_ref(a, "enqueueActions") for a in enqueue.actions]
    resolve_actions(work, event, refs, deferred)


def _delay(work: Work, event: Mapping[str, Any], delay: Any) -> int | float | None:
    if isinstance(delay, str):
        delay = work.delays.get(delay)
    if callable(delay):
        delay = delay(work.context, event)
    if isinstance(delay, (int, float)) and not isinstance(delay, bool):
        return delay
    return None


def _raise(work: Work, event: Mapping[str, Any], action: ActionRef) -> None:
    impl = action.impl
    raised = impl.event(work.context, event) if callable(impl.event) else impl.event
    delay = _delay(work, event, impl.delay)
    if delay is not None:
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
            _stop_children(work, event)
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
        _stop_children(work, current)
    return handled


def _stop_children(work: Work, event: Mapping[str, Any]) -> None:
    """Stop every child; the snapshot keeps listing them, as XState's done one does."""
    for child_id, src in work.children.items():
        work.effects.append(Effect(_stop_kind(work, child_id), src, id=child_id, event=event))
