"""Resolving a step's actions: assign and raise change the step itself, the actor
actions (spawnChild, stopChild, sendTo, sendParent, enqueueActions) and every named
action become effects, in XState's order, for the host to carry out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .actions import PARENT, SELF, Enqueue
from .definition import ActionRef
from .guards import evaluate_guard
from .snapshot import Effect

TYPE_CHECKING = False  # typing stays out of the Lambda's import path (cold start)
if TYPE_CHECKING:
    from typing import Any

    from .algorithm import Work


class UnknownActorError(LookupError):
    """A ``sendTo`` names an actor this machine has no child of that id for."""


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
    work.effects.append(Effect(stop_kind(work, child_id), src, child_id, event=event))


def stop_kind(work: Work, child_id: str) -> str:
    """``cancel_invoke`` for a child an invoke started (the runtime drops its pending
    command), ``stop`` for one a spawnChild started."""
    return "cancel_invoke" if child_id in work.definition.invoke_ids else "stop"


def _send(
    work: Work, event: Mapping[str, Any], send: Any, params: Any, deferred: tuple[str, ...]
) -> None:
    """XState's ``sendTo``: resolve event, target and delay now; the host delivers."""
    sent = send.event(work.context, event) if callable(send.event) else send.event
    to = send.to(work.context, event) if callable(send.to) else send.to
    starting = False
    if to == PARENT:
        target: str | None = PARENT
    elif to == SELF:
        target = None
    else:
        target = to[2:] if to.startswith("#_") else to
        # XState: a state's entry may name its own invoke, which starts after it
        starting = not to.startswith("#_") and target in deferred
        if target not in work.children and not starting:
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
                starting=starting,
            )
        )
    elif target == PARENT:
        work.effects.append(Effect("send_parent", "xstate.sendParent", event=sent, to=PARENT))
    else:
        effect = Effect("send_to", "xstate.sendTo", event=sent, to=target, starting=starting)
        work.effects.append(effect)


def _enqueue(
    work: Work, event: Mapping[str, Any], impl: Any, params: Any, deferred: tuple[str, ...]
) -> None:
    """XState's ``enqueueActions``: collect with the current context, then run in order."""
    definition = work.definition
    enqueue = Enqueue(lambda guard: evaluate_guard(definition.guard_ref(guard), work, event))
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
