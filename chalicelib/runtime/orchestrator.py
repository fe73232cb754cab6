"""Handle one event for one workflow instance: load, transition, commit, dispatch.

1. load the instance (one strongly consistent read);
2. a redelivered event id is answered with the current state, changing nothing;
3. ``machine.transition``; an event the state does not accept is refused (409);
4. commit snapshot, version + 1, event id, history record and the outbound
   messages in one conditional write; on a lost race reload and retry (bounded,
   jittered);
5. after the commit: run the named actions, publish the outbox (then feed each
   invoke's completion back as an event), push the new view to websockets.

A crash after 4 leaves the messages in the outbox; ``sweep`` publishes them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.statechart import Effect, Snapshot, SnapshotError

from . import broadcast, bus, clock, journal, store
from . import timers as durable
from .errors import BadRequest, Conflict, EventNotAllowed, Forbidden, NotFound, WorkflowError
from .settings import settings
from .workflow import Workflow

CLIENT, BUS, RUNTIME, TIMER = "client", "bus", "runtime", "timer"


class Outcome:
    """An instance after handling a request: its snapshot and how we got there."""

    __slots__ = ("duplicate", "instance_id", "meta", "snapshot", "workflow")

    def __init__(
        self,
        workflow: Workflow,
        instance_id: str,
        snapshot: Snapshot,
        meta: dict[str, Any],
        duplicate: bool = False,
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.snapshot = snapshot
        self.meta = meta
        self.duplicate = duplicate

    def view(self) -> dict[str, Any]:
        """The client's view of the instance (the workflow's renderer)."""
        return self.workflow.view(self.snapshot, self.meta)


def state_key(value: Any) -> str:
    """A state value as one string: ``"bakePizza.waitingForPizzaToBeBaked"``."""
    if isinstance(value, str):
        return value
    if len(value) == 1:
        key, sub = next(iter(value.items()))
        return f"{key}.{state_key(sub)}" if sub else key
    return "(" + ",".join(f"{k}:{state_key(v)}" if v else k for k, v in value.items()) + ")"


def client_next_events(workflow: Workflow, snapshot: Snapshot) -> list[str]:
    """The events a client may send now."""
    return [e for e in snapshot.next_events if e in workflow.client_events]


def validate_model(model: type[BaseModel], payload: Any, what: str | None = None) -> BaseModel:
    """``payload`` checked by ``model``; BadRequest carrying pydantic's detail if not."""
    try:
        return model.model_validate(payload if payload is not None else {})
    except ValidationError as error:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        raise BadRequest(f"invalid {what or model.__name__}", details=details) from None


def validate_payload(workflow: Workflow, event_type: str, payload: Any, source: str) -> dict:
    """The event's payload as JSON data after its model checked it; BadRequest if not."""
    allowed = workflow.client_events if source == CLIENT else workflow.bus_events
    if event_type not in allowed:
        other = workflow.bus_events if source == CLIENT else workflow.client_events
        if event_type in other:
            raise Forbidden(f"event {event_type!r} may not come from a {source}")
        raise BadRequest(f"unknown event type {event_type!r}", accepted=sorted(allowed))
    model = validate_model(allowed[event_type], payload, f"{event_type} payload")
    return model.model_dump(mode="json", exclude_none=True)


def start(
    workflow: Workflow,
    instance_id: str,
    owner: str,
    context: Mapping[str, Any],
    event: Mapping[str, Any],
    event_id: str,
) -> Outcome:
    """Create an instance and apply its first client event in the same commit.

    A repeated call with the same ``event_id`` (an Idempotency-Key) returns the
    instance it created; NotFound if that id belongs to someone else's instance.
    """
    return _apply(workflow, instance_id, event, event_id, CLIENT, owner, create=context)


def send(
    workflow: Workflow,
    instance_id: str,
    event: Mapping[str, Any],
    event_id: str,
    source: str,
    caller: str | None = None,
) -> Outcome:
    """Apply one event to an existing instance; ``caller`` set means owner-only access."""
    return _apply(workflow, instance_id, event, event_id, source, caller)


def read(workflow: Workflow, instance_id: str, caller: str | None) -> Outcome:
    """The instance as stored; NotFound when it does not exist or is someone else's."""
    instance = _load(workflow, instance_id, caller)
    return Outcome(
        workflow, instance_id, _restore(workflow, instance), _meta(instance_id, instance)
    )


def history(workflow: Workflow, instance_id: str, caller: str | None) -> list[dict[str, Any]]:
    """Every committed transition of the instance, oldest first."""
    _load(workflow, instance_id, caller)
    return store.history(workflow.key(instance_id))


def _load(workflow: Workflow, instance_id: str, caller: str | None) -> store.Instance:
    instance = store.load(workflow.key(instance_id))
    if instance is None or (caller is not None and instance.owner != caller):
        raise NotFound(f"no {workflow.name} {instance_id!r}")
    return instance


def _restore(workflow: Workflow, instance: store.Instance) -> Snapshot:
    try:
        return workflow.machine.restore(instance.snapshot)
    except SnapshotError as error:
        raise WorkflowError(f"stored snapshot of {instance.pk} is unusable: {error}") from None


def _meta(instance_id: str, instance: store.Instance, version: int | None = None) -> dict:
    return {
        "id": instance_id,
        "version": version if version is not None else instance.version,
        "createdAt": instance.created_at,
        "updatedAt": instance.updated_at,
    }


def _apply(
    workflow: Workflow,
    instance_id: str,
    event: Mapping[str, Any],
    event_id: str,
    source: str,
    caller: str | None,
    create: Mapping[str, Any] | None = None,
    published: Iterable[str] = (),
    timer: tuple[str, str] | None = None,
) -> Outcome:
    """Load, transition, commit (retrying lost races), then dispatch the effects."""
    attempts = settings().max_commit_attempts
    for attempt in range(attempts):
        started = time.perf_counter()
        instance = _load_for(workflow, instance_id, caller, create is not None)
        if instance is not None and (
            event_id in instance.recent
            or (timer is not None and instance.timers.get(timer[0]) != timer[1])
        ):
            # a redelivered event, or a timer whose state was left: nothing changes
            snapshot = _restore(workflow, instance)
            return Outcome(workflow, instance_id, snapshot, _meta(instance_id, instance), True)
        try:
            outcome, effects, outbox = _commit(
                workflow, instance_id, instance, event, event_id, source, caller, create,
                list(published),
            )  # fmt: skip
        except store.ConflictError:
            if create is None or instance is not None:
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
            continue  # lost the race (or created concurrently): reload and decide again
        journal.transition(
            workflow=workflow.name, instance=instance_id, event=event["type"], eventId=event_id,
            source=source, **{"from": outcome.meta["from"]}, to=state_key(outcome.snapshot.value),
            version=outcome.meta["version"], ms=round((time.perf_counter() - started) * 1000, 2),
            attempt=attempt + 1,
        )  # fmt: skip
        return _after_commit(workflow, outcome, effects, outbox, instance) or outcome
    raise Conflict(
        f"{workflow.name} {instance_id!r} kept changing: gave up after {attempts} attempts; "
        "retry the request"
    )


def _load_for(
    workflow: Workflow, instance_id: str, caller: str | None, creating: bool
) -> store.Instance | None:
    """The stored instance (None only when creating); NotFound for others' instances."""
    instance = store.load(workflow.key(instance_id))
    if instance is None and not creating:
        raise NotFound(f"no {workflow.name} {instance_id!r}")
    if instance is not None and caller is not None and instance.owner != caller:
        raise NotFound(f"no {workflow.name} {instance_id!r}")
    return instance


def _commit(
    workflow: Workflow,
    instance_id: str,
    instance: store.Instance | None,
    event: Mapping[str, Any],
    event_id: str,
    source: str,
    caller: str | None,
    create: Mapping[str, Any] | None,
    published: list[str],
) -> tuple[Outcome, list[Effect], dict[str, Any]]:
    """Decide and write the next version; returns it, its effects and the pending outbox.

    Raises EventNotAllowed when the state does not accept the event, and
    store.ConflictError when another writer committed first.
    """
    initial: list[Effect] = []
    if instance is None:
        start = workflow.machine.initial_transition(context=create)
        snapshot, initial = start.snapshot, start.effects
        before, recent, outbox, version, timers = None, [], {}, None, {}
    else:
        snapshot = _restore(workflow, instance)
        before, recent, outbox = state_key(snapshot.value), instance.recent, instance.outbox
        version, timers = instance.version, dict(instance.timers)
    step = workflow.machine.transition(snapshot, event)
    if not step.handled:
        raise EventNotAllowed(
            f"{event['type']} is not allowed in state {state_key(snapshot.value)}",
            state=snapshot.value,
            nextEvents=client_next_events(workflow, snapshot),
        )
    time_now = clock.now()
    pk = workflow.key(instance_id)
    effects = [*initial, *step.effects]  # a new instance also runs its initial entry
    messages, timers = _outbound(
        workflow, instance_id, pk, (version or 0) + 1, effects, time_now, timers
    )
    remaining = {k: v for k, v in outbox.items() if k not in published}
    after = state_key(step.snapshot.value)
    new_version = store.commit(
        pk,
        version,
        step.snapshot.to_dict(),
        after,
        caller if create is not None else None,
        [*recent, event_id][-settings().recent_event_ids :],
        messages,
        [m for m in published if m in outbox],
        pending_after=bool(remaining or messages),
        history={
            "eventType": event["type"], "eventId": event_id, "source": source,
            "from": before, "to": after, "time": time_now,
        },
        now=time_now,
        timers=timers,
    )  # fmt: skip
    meta = {
        "id": instance_id,
        "version": new_version,
        "createdAt": instance.created_at if instance else time_now,
        "updatedAt": time_now,
        "from": before,
    }
    outcome = Outcome(workflow, instance_id, step.snapshot, meta)
    return outcome, effects, {**remaining, **messages}


def _outbound(
    workflow: Workflow,
    instance_id: str,
    pk: str,
    version: int,
    effects: list[Effect],
    time_now: str,
    timers: dict[str, str],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Outbox entries (commands, timers) with deterministic ids, and the active timers."""
    messages: dict[str, dict[str, Any]] = {}
    moment = clock.parse(time_now)
    for i, effect in enumerate(effects):
        message_id = f"{pk}.v{version}.{i}".replace("#", ".")
        if effect.kind == "invoke":
            command = workflow.commands[effect.type]
            data = command.data(effect.context, effect.input)
            messages[message_id] = {
                "event": bus.cloud_event(message_id, command.type, instance_id, data, time_now),
                "invoke": effect.id,
            }
        elif effect.kind == "schedule":
            timers[effect.id] = message_id
            body = durable.timer(
                workflow.name,
                instance_id,
                effect.id,
                effect.event,
                effect.delay_ms,
                message_id,
                moment,
            )
            messages[message_id] = {"timer": body}
        elif effect.kind == "cancel_schedule":
            token = timers.pop(effect.id, None)
            messages.pop(token, None)  # scheduled and cancelled in this very step
    return messages, timers


def _after_commit(
    workflow: Workflow,
    outcome: Outcome,
    effects: list[Effect],
    outbox: Mapping[str, Mapping[str, Any]],
    instance: store.Instance | None,
) -> Outcome | None:
    """Run actions, update websockets, publish; the latest outcome if events were fed back."""
    for effect in effects:
        if effect.kind == "action":
            _run_action(workflow, outcome, effect)
    connections = instance.connections if instance else set()
    if connections:
        gone = broadcast.broadcast(connections, outcome.view())
        for connection_id in gone:
            store.remove_connection(connection_id, workflow.key(outcome.instance_id))
    if outbox:
        return publish_outbox(workflow, outcome.instance_id, outbox, outcome.meta["version"])
    return None


def _run_action(workflow: Workflow, outcome: Outcome, effect: Effect) -> None:
    impl = workflow.machine.actions.get(effect.type)
    try:
        if effect.params is None:
            impl(effect.context, effect.event)
        else:
            impl(effect.context, effect.event, effect.params)
    except Exception as error:  # noqa: BLE001 - the transition is committed; report and go on
        journal.problem(
            "action failed after commit", action=effect.type, instance=outcome.instance_id,
            error=repr(error),
        )  # fmt: skip


def publish_outbox(
    workflow: Workflow, instance_id: str, outbox: Mapping[str, Mapping[str, Any]], version: int
) -> Outcome | None:
    """Send pending messages in order, then feed each invoke's completion (or, for a
    command given up after ``max_publish_attempts``, its failure) back as an event.

    The first fed-back commit also drops the sent messages from the outbox; without
    one, a separate clear does. A failure leaves the rest pending for the sweeper: at
    least once, and never for an uncommitted transition. Returns the last outcome.
    """
    tries = settings().max_publish_attempts
    pk = workflow.key(instance_id)
    sent: list[str] = []
    feedback: list[tuple[str, dict[str, Any]]] = []
    for message_id in sorted(outbox):
        entry = outbox[message_id]
        invoke_id = entry.get("invoke")
        try:
            if "timer" in entry:
                durable.send(entry["timer"])
            else:
                bus.publish(entry["event"])
        except WorkflowError as error:
            attempts = int(entry.get("attempts", 0)) + 1
            journal.problem(
                "publish failed; left in outbox", messageId=message_id, attempt=attempts,
                error=str(error),
            )  # fmt: skip
            if invoke_id and attempts >= tries:
                # given up: drop it and fail its invoke, so the chart decides what next
                sent.append(message_id)
                failure = f"could not publish {message_id} after {tries} attempts"
                failed = {"type": f"xstate.error.actor.{invoke_id}", "error": failure}
                feedback.append((f"{message_id}.error", failed))
            else:
                store.update_outbox_entry(pk, message_id, {**entry, "attempts": attempts})
            break
        sent.append(message_id)
        if invoke_id:
            done = {"type": f"xstate.done.actor.{invoke_id}", "output": {"messageId": message_id}}
            feedback.append((f"{message_id}.done", done))
    everything = len(sent) == len(outbox)
    latest = None
    for event_id, event in feedback:
        try:
            latest = _apply(workflow, instance_id, event, event_id, RUNTIME, None, published=sent)
            sent = []
        except EventNotAllowed:
            continue  # the state moved on: the invoke is no longer active
    if sent:
        store.clear_outbox(pk, sent, version, everything)
    return latest


def sweep(workflows: Mapping[str, Workflow], grace_seconds: int | None = None) -> int:
    """Publish outboxes left pending longer than the grace period; returns how many."""
    grace = settings().outbox_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = clock.stamp(datetime.now(UTC) - timedelta(seconds=grace))
    swept = 0
    for pk in store.pending(cutoff):
        name, _, instance_id = pk.partition("#")
        workflow = workflows.get(name)
        instance = store.load(pk)
        if workflow is None or instance is None:
            continue
        if not instance.outbox:
            store.clear_outbox(pk, [], instance.version, everything=True)  # a stale index entry
            continue
        publish_outbox(workflow, instance_id, instance.outbox, instance.version)
        swept += 1
    return swept


def fire_timer(workflows: Mapping[str, Workflow], body: str) -> Outcome | None:
    """Deliver a due timer's event; re-send one that is early (delays past 15 minutes).

    A timer whose token the instance no longer holds (its state was left) changes nothing.
    """
    timer = durable.parse(body)
    if durable.due_in(timer) > 1:
        durable.send(timer)
        return None
    workflow = workflows.get(timer["workflow"])
    if workflow is None:
        raise BadRequest(f"timer for unknown workflow {timer['workflow']!r}")
    try:
        return _apply(
            workflow, timer["instance"], timer["event"], f"timer.{timer['token']}", TIMER, None,
            timer=(timer["scheduleId"], timer["token"]),
        )  # fmt: skip
    except (EventNotAllowed, NotFound) as stale:
        journal.problem("timer not applied", timer=timer["scheduleId"], why=str(stale))
        return None


def receive(workflows: Mapping[str, Workflow], workflow_name: str, body: str) -> Outcome | None:
    """Apply a CloudEvent from the bus; None when it is stale or unknown (acknowledged).

    Raises for what must be retried (storage or bus unavailable, lost races) and
    for malformed messages (so they reach the dead-letter queue).
    """
    event = bus.parse(body)
    workflow = workflows[workflow_name]
    subject = event.get("subject")
    if not isinstance(subject, str) or not subject:
        raise BadRequest("CloudEvent has no subject (the instance id)")
    data = validate_payload(workflow, event["type"], event.get("data"), BUS)
    machine_event = {"type": event["type"], "data": data, "time": event.get("time") or clock.now()}
    try:
        return send(workflow, subject, machine_event, event["id"], BUS)
    except (EventNotAllowed, NotFound) as stale:
        journal.problem(
            "bus event not applied", event=event["type"], id=event["id"], why=str(stale)
        )
        return None
