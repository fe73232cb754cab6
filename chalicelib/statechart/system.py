"""An in-memory actor system over the engine: a machine and its child machines, run
as XState v5's actor system runs them, stepped one event at a time.

It is pure like the rest of the engine: no I/O, no wall clock (``advance(ms)``
moves its own clock) and no randomness; an actor's id is its path of invoke or
spawn ids from the root (``root/worker/retry``), so a run is reproducible. It is
the reference a durable host follows and the way tests run a parent with
children without AWS.

What it copies from XState (``Actor``, ``Mailbox``, ``createSystem``): each actor
has a mailbox and handles one event at a time; a step's built-in actions are
carried out after the step (a child starts, a message leaves, a child stops, a
timer is set, in the order XState defers them), so a child that a step both
spawns and stops never starts; a started child first starts the children of its
initial state, then runs its own initial actions; a child that reaches a final
state stops and sends ``xstate.done.actor.<id>`` (with ``output``) to its parent,
one that fails sends ``xstate.error.actor.<id>`` (with ``error``); stopping an
actor stops its children first, recursively, and drops its timers; a stopped or
finished actor takes no more events. Two choices differ from XState 5 and are
documented in README: a timer scheduled again under the same id replaces the
pending one (XState 5 lets both fire), and an actor whose step raises stops its
children (XState 5 leaves them running, unreachable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .actions import PARENT
from .actor import NOT_STARTED, RUNNING, STOPPED, Actor, Resolving
from .algorithm import UnknownActorError
from .machine import Machine
from .scheduler import Scheduler
from .snapshot import Effect

STOP = {"type": "xstate.stop"}


class ActorSystem:
    """Runs the machine registered as ``root`` and every child it starts.

    ``machines`` maps a ``src`` to its Machine; an invoke or spawn of any other src
    starts no actor (a service the caller completes by sending its done event).
    ``trace`` records, in order: ``("event", source, target, type)`` for every event
    sent to an actor (``xstate.init`` when it starts; source None for events from
    outside), ``("action", path, type, params)`` for every named action run, and
    ``("snapshot", path, event type, status)`` when an actor has handled an event.
    ``actions`` maps action names to what to call for them instead of the machine's
    own implementation. ``replace_timers=False`` keeps XState 5's timers: one
    scheduled again under a pending id does not replace it, both fire, and only the
    newer can be cancelled.
    """

    def __init__(
        self,
        machines: Mapping[str, Machine],
        root: str,
        input: Any = None,  # noqa: A002 - XState's name
        root_id: str = "root",
        actions: Mapping[str, Callable[..., Any]] | None = None,
        replace_timers: bool = True,
    ) -> None:
        self.machines = dict(machines)
        self.trace: list[tuple[Any, ...]] = []
        self._scheduler = Scheduler(replace=replace_timers)
        self._actions = dict(actions or {})
        actor = self._create(root, root_id, None, input)
        if actor is None:
            raise KeyError(f"no machine is registered as {root!r}")
        self.root = actor
        self._start(actor)

    # -- the test kit's controls ------------------------------------------

    def send(self, event: Mapping[str, Any], to: str | Actor | None = None) -> None:
        """Deliver ``event`` from outside to ``to`` (an actor or its path; the root by
        default) and run everything it causes; a stopped actor ignores it. KeyError
        when no actor has that path."""
        target = to if isinstance(to, Actor) else self.actor(to) if to else self.root
        self._relay(None, target, dict(event))

    def advance(self, ms: float) -> None:
        """Move the clock ``ms`` on, firing each timer due by then in due order."""
        scheduler = self._scheduler
        end = scheduler.now + ms
        while (timer := scheduler.next_due(end)) is not None:
            self._relay(timer.source, timer.target, timer.event)
        scheduler.now = end

    @property
    def now(self) -> float:
        """The system's clock, in ms since it started."""
        return self._scheduler.now

    def actor(self, path: str) -> Actor:
        """The actor at ``path`` (e.g. ``root/worker``); KeyError when there is none."""
        head, *rest = path.split("/")
        actor: Actor | None = self.root if head == self.root.id else None
        for part in rest:
            actor = actor.refs.get(part) if actor is not None else None
        if actor is None:
            raise KeyError(f"no actor at {path!r}")
        return actor

    def tree(self) -> list[dict[str, Any]]:
        """Every actor reachable from the root through its snapshot's children, in order."""
        out: list[dict[str, Any]] = []

        def visit(actor: Actor) -> None:
            snap = actor.snapshot
            kids = [] if actor.stopped or snap is None else list(snap.children)
            out.append(
                {
                    "path": actor.path, "src": actor.src, "status": actor.status,
                    "value": snap.value if snap else None,
                    "context": snap.context if snap else None,
                    "output": snap.output if snap else None, "error": actor.error,
                    "children": kids,
                }
            )  # fmt: skip
            for kid in kids:
                child = actor.refs.get(kid)
                if child is not None:
                    visit(child)

        visit(self.root)
        return out

    @property
    def timers(self) -> list[tuple[str, str, float]]:
        """Pending timers as (scheduling actor's path, id, due time), in due order."""
        return [(t.source.path, t.send_id, t.due) for t in self._scheduler.pending]

    # -- XState's Actor ------------------------------------------------------

    def _create(self, src: str, id: str, parent: Actor | None, input: Any) -> Actor | None:  # noqa: A002
        machine = self.machines.get(src)
        if machine is None:
            return None
        path = id if parent is None else f"{parent.path}/{id}"
        actor = Actor(path, id, src, machine, parent)
        try:  # the child's initial step is taken now; its effects wait for its start
            step = machine.initial_transition(input=input)
            actor.snapshot = step.snapshot
            self._carry_out(actor, step.effects)
        except Exception as error:  # noqa: BLE001 - XState: an actor whose start failed
            actor.fault = str(error)
            actor.deferred.clear()
        return actor

    def _start(self, actor: Actor) -> None:
        if actor.state == RUNNING:
            return
        actor.state = RUNNING
        parent = actor.parent
        self.trace.append(("event", parent.path if parent else None, actor.path, "xstate.init"))
        if actor.status == "error":
            self._fail(actor, actor.error)
            return
        init = {"type": "xstate.init"}
        if actor.status == "done":
            self._update(actor, init)
            return
        for child_id in actor.snapshot.children:  # XState's StateMachine.start
            child = actor.refs.get(child_id)
            if child is not None and child.status == "active":
                self._start(child)
        self._update(actor, init)
        actor.active = True
        self._flush(actor)

    def _relay(self, source: Actor | None, target: Actor, event: Mapping[str, Any]) -> None:
        self.trace.append(("event", source.path if source else None, target.path, event["type"]))
        if target.state == STOPPED:
            return
        target.mailbox.append(event)
        if target.active and not target.flushing:
            self._flush(target)

    def _flush(self, actor: Actor) -> None:
        actor.flushing = True
        try:
            while actor.mailbox:
                self._process(actor, actor.mailbox.popleft())
        finally:
            actor.flushing = False

    def _process(self, actor: Actor, event: Mapping[str, Any]) -> None:
        if event is STOP:
            for child_id in actor.snapshot.children:  # XState's stopChildren
                self._stop_child(actor, actor.refs.get(child_id))
            actor.refs = {}
            actor.stopped = True
            self._update(actor, STOP)
            self._stop_procedure(actor)
            return
        before = actor.snapshot
        try:
            step = actor.machine.transition(before, event)
            actor.snapshot = step.snapshot
            self._carry_out(actor, step.effects)
        except Exception as error:  # noqa: BLE001 - XState: the actor fails with it
            actor.snapshot = before
            actor.deferred.clear()
            actor.fault = str(error)
            for child in actor.refs.values():
                if child is not None:
                    self._stop(child)
            self._fail(actor, actor.fault)
            return
        self._update(actor, event)

    def _update(self, actor: Actor, event: Mapping[str, Any]) -> None:
        """XState's ``Actor.update``: run what the step deferred, then finish if done."""
        while actor.deferred:
            try:
                actor.deferred.popleft()()
            except Exception as error:  # noqa: BLE001 - an initial action raised
                actor.deferred.clear()
                actor.fault = str(error)
        if actor.status == "done":
            self._stop_procedure(actor)
            if actor.parent is not None:
                done = {"type": f"xstate.done.actor.{actor.id}", "output": actor.snapshot.output}
                self._relay(actor, actor.parent, {**done, "actorId": actor.id})
        elif actor.status == "error" and not actor.stopped:
            self._fail(actor, actor.error)
        self.trace.append(("snapshot", actor.path, event["type"], actor.status))

    def _fail(self, actor: Actor, error: Any) -> None:
        self._stop_procedure(actor)
        if actor.parent is not None:
            failed = {"type": f"xstate.error.actor.{actor.id}", "error": error}
            self._relay(actor, actor.parent, {**failed, "actorId": actor.id})

    def _stop(self, actor: Actor) -> None:
        """XState's ``Actor._stop``: a running actor handles xstate.stop after what it
        is handling now; one not started yet never starts."""
        if actor.state == STOPPED:
            return
        actor.mailbox.clear()
        if actor.state == NOT_STARTED:
            actor.state = STOPPED
            return
        actor.mailbox.append(STOP)
        if actor.active and not actor.flushing:
            self._flush(actor)

    def _stop_procedure(self, actor: Actor) -> None:
        if actor.state != RUNNING:
            return
        self._scheduler.cancel_all(actor)
        actor.mailbox.clear()
        actor.state = STOPPED

    # -- a step's effects: resolved now, carried out as XState defers them ----

    def _carry_out(self, actor: Actor, effects: list[Effect]) -> None:
        resolving = Resolving()
        for effect in effects:
            run = self._resolve(actor, effect, resolving)
            if actor.state == RUNNING:
                run()
            else:
                actor.deferred.append(run)
        # a finished machine still lists the children it stopped, as XState's does
        refs, stopped = actor.refs, resolving.stopped
        actor.refs = {k: refs[k] if k in refs else stopped.get(k) for k in actor.snapshot.children}

    def _resolve(self, actor: Actor, effect: Effect, resolving: Resolving) -> Callable[[], None]:
        kind = effect.kind
        defer = actor.deferred.append
        if kind in ("invoke", "spawn"):
            child = self._create(effect.type, effect.id, actor, effect.input)
            actor.refs[effect.id] = child
            for cell in resolving.waiting.pop(effect.id, ()):
                cell.append(child)
            if child is None:
                return _nothing
            return lambda: defer(lambda: child.state != STOPPED and self._start(child))
        if kind in ("cancel_invoke", "stop"):
            child = resolving.stopped[effect.id] = actor.refs.pop(effect.id, None)
            return lambda: self._stop_child(actor, child)
        if kind == "action":
            return lambda: self._run_action(actor, effect)
        if kind == "cancel_schedule":
            return lambda: defer(lambda: self._scheduler.cancel(actor, effect.id))
        to = effect.to if kind != "send_parent" else PARENT
        target = self._target(actor, to, resolving, effect.starting)
        if kind == "schedule":
            scheduler = self._scheduler
            return lambda: defer(
                lambda: scheduler.schedule(
                    actor, effect.id, effect.delay_ms, target(), effect.event
                )
            )
        return lambda: defer(lambda: self._relay(actor, target(), effect.event))

    def _target(
        self, actor: Actor, to: str | None, resolving: Resolving, starting: bool
    ) -> Callable[[], Actor]:
        """The actor ``to`` names. A child not there yet is the one the step starts next
        under that id (XState's retryResolve: a state's entry may send to its own
        invoke, which starts after the entry actions)."""
        if to is None:
            return lambda: actor
        if to == PARENT:
            parent = actor.parent
            if parent is None:
                raise UnknownActorError(
                    f"Unable to send event to actor '{to}' from machine '{actor.machine.id}'."
                )
            return lambda: parent
        child = None if starting else actor.refs.get(to)
        if child is not None:
            return lambda: child
        cell: list[Actor | None] = []
        resolving.waiting.setdefault(to, []).append(cell)

        def later() -> Actor:
            if not cell or cell[0] is None:
                raise UnknownActorError(f"'{actor.path}' started no actor '{to}'")
            return cell[0]

        return later

    def _stop_child(self, actor: Actor, child: Actor | None) -> None:
        """XState's ``executeStop``: a child not running yet is stopped at once."""
        if child is None:
            return
        if child.state != RUNNING:
            self._stop(child)
        else:
            actor.deferred.append(lambda: self._stop(child))

    def _run_action(self, actor: Actor, effect: Effect) -> None:
        self.trace.append(("action", actor.path, effect.type, effect.params))
        impl = self._actions.get(effect.type) or actor.machine.actions.get(effect.type)
        if callable(impl):
            extra = () if effect.params is None else (effect.params,)
            impl(effect.context, effect.event, *extra)


def _nothing() -> None:
    return None
