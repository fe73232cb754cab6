"""Handle one event for one workflow instance: load, decide, commit, dispatch.

1. a client's Idempotency-Key seen before is answered with its first answer (or
   refused, when it was used for a different request);
2. load the instance (one strongly consistent read);
3. ``machine.transition`` on the definition version the instance runs on, after the
   declared migrations from its version on (refused ones are logged and leave it on its
   version); an event the state does not accept is refused (409);
4. commit snapshot, version + 1, definition version, history record (the full event),
   dedupe record, in-flight counters and the outbound messages in one transaction,
   conditional on the version read; on a lost race reload and retry (bounded,
   jittered); a redelivered event id is refused by its dedupe record and changes nothing;
5. after the commit the request has succeeded, whatever happens next: run the named
   actions, push the new view to websockets, send the outbox and feed each invoke's
   completion back as an event. A failure there is logged and left to the sweeper.

The answer to a request is the view its own commit produced, so a retry with the same
Idempotency-Key gets exactly the first answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from chalicelib.statechart import Effect

from .. import store
from ..messaging import outbox as outbox_
from ..ops import journal, metrics
from ..shared import (
    Conflict,
    EventNotAllowed,
    InstanceExists,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    settings,
)
from ..versions import Workflow, state_key
from . import commit, pushes
from .decide import Decision, decide
from .idempotency import answered, current, first_answer, redelivered, stale
from .instances import Incoming, Outcome, load_for
from .messages import Early
from .validation import RUNTIME

__all__ = ["dispatch_outbox", "send", "start", "time_budget"]


# backoff after a lost race, in seconds: full jitter, uniform in [0, min(cap, base * 2^n)]
# ("Exponential Backoff And Jitter", AWS Architecture Blog), until commit_race_seconds
RACE_BASE, RACE_CAP = 0.01, 1.0
# how long a message from another instance that came before its predecessor waits for it
# in the consumer before it is left to the queue (a batch of ten must not time out on it)
EARLY_SECONDS = 1.0

# when the request (or sweep) handling the outermost event must leave the rest to the
# sweeper: a time.monotonic() value, shared by the events it feeds back in turn
_deadline: ContextVar[float | None] = ContextVar("after_commit_deadline", default=None)


@contextmanager
def time_budget(until: float) -> Iterator[None]:
    """Run under a time budget: sending outboxes and feeding completions back stop at
    ``until`` (a ``time.monotonic()`` value), leaving the rest to the sweeper."""
    token = _deadline.set(until)
    try:
        yield
    finally:
        _deadline.reset(token)


def start(
    workflow: Workflow,
    instance_id: str,
    owner: str,
    context: Mapping[str, Any],
    incoming: Incoming,
) -> Outcome:
    """Create an instance and apply its first client event in the same commit.

    A repeated call with the same keyed id returns the first answer;
    IdempotencyKeyReused if the key answered a different request; InstanceExists (409)
    when the instance exists and the key does not say it was this request's.
    """
    with journal.correlated(workflow=workflow.name, instance=instance_id, eventId=incoming.id):
        return _apply(workflow, instance_id, incoming, create=context, owner=owner)


def send(workflow: Workflow, instance_id: str, incoming: Incoming) -> Outcome:
    """Apply one event to an existing instance.

    Raises NotFound (no such instance, or another owner's), EventNotAllowed (409),
    IdempotencyKeyReused (422), PayloadTooLarge (413), Conflict (races never settled)
    and Unavailable (storage failed; the message says whether anything may have changed).
    """
    with journal.correlated(workflow=workflow.name, instance=instance_id, eventId=incoming.id):
        return _apply(workflow, instance_id, incoming)


def _apply(
    workflow: Workflow,
    instance_id: str,
    incoming: Incoming,
    create: Mapping[str, Any] | None = None,
    owner: str | None = None,
) -> Outcome:
    """Load, decide, commit (retrying lost races), then dispatch the effects."""
    if _deadline.get() is None:  # the outermost event of a request sets its time budget
        with time_budget(time.monotonic() + settings().after_commit_seconds):
            try:
                return _apply(workflow, instance_id, incoming, create, owner)
            except Unavailable as error:
                if "changed" in error.detail:
                    raise
                # raised before its commit was sent, or by a commit refused unapplied
                # (a commit that succeeded answers 2xx: failures after it are the sweeper's)
                raise Unavailable(f"{error.message}; nothing was changed", changed=False) from error
    creating = create is not None
    first = answered(workflow, instance_id, incoming, creating)
    if first is not None:
        return first
    try:
        return _decide_and_commit(workflow, instance_id, incoming, create, owner)
    except (EventNotAllowed, PayloadTooLarge, Conflict):
        # a keyed twin that looked before the first commit and loaded after it decided on
        # the state that commit left: it gets the first answer, not a refusal
        first = answered(workflow, instance_id, incoming, creating)
        if first is None:
            raise
        return first


def _decide_and_commit(
    workflow: Workflow,
    instance_id: str,
    incoming: Incoming,
    create: Mapping[str, Any] | None,
    owner: str | None,
) -> Outcome:
    """Load, decide and commit, retrying lost races (full-jitter backoff, within
    ``commit_race_seconds``), then dispatch the effects."""
    budget = settings().commit_race_seconds
    give_up_at, attempt = time.monotonic() + budget, 0
    early_until = time.monotonic() + EARLY_SECONDS
    while True:
        attempt += 1
        started = time.perf_counter()
        try:
            instance = load_for(workflow, instance_id, incoming.caller, create is not None)
        except NotFound:
            if incoming.message is None:
                raise
            instance = None  # a message to a child whose start has not arrived yet
        if create is not None and instance is not None:
            raise InstanceExists(f"{workflow.name} {instance_id!r} exists already")
        if stale(incoming, instance):
            return current(workflow, instance_id, instance, reload=False)  # its state was left
        try:
            if instance is None and create is None:
                raise Early(f"{workflow.name} {instance_id!r} is not started yet")
            decision = decide(workflow, instance_id, instance, incoming, create, owner)
        except Early:  # a short wait: the queue delivers it again (its consumer keeps going)
            left = min(give_up_at, early_until) - time.monotonic()
            if left <= 0:
                raise
            time.sleep(min(left, random.uniform(0, min(RACE_CAP, RACE_BASE * 2**attempt))))
            continue  # its predecessor may be applied by now
        except store.DuplicateEvent:
            return current(workflow, instance_id, instance, reload=False)
        except EventNotAllowed:
            if redelivered(workflow, instance_id, instance, incoming):
                return current(workflow, instance_id, instance, reload=False)
            raise
        try:
            commit.commit_transition(decision.write)
        except store.ConflictError:
            metrics.count("LostRacesRetried", workflow=workflow.name)
            left = give_up_at - time.monotonic()
            if left <= 0:
                break
            if create is None or instance is not None:  # full jitter, capped
                time.sleep(min(left, random.uniform(0, min(RACE_CAP, RACE_BASE * 2**attempt))))
            continue  # lost the race (or created concurrently): reload and decide again
        except store.DuplicateEvent:
            return current(workflow, instance_id, instance, reload=True)
        except store.IdempotencyTaken:
            prior = store.idempotency(incoming.id)
            if prior is None:
                raise Conflict("a request with this Idempotency-Key is in progress") from None
            return first_answer(workflow, instance_id, incoming, prior, create is not None)
        outcome = decision.outcome
        journal.transition(
            workflow=workflow.name, instance=instance_id, event=incoming.event["type"],
            eventId=incoming.id, source=incoming.source, **{"from": outcome.meta["from"]},
            to=state_key(outcome.snapshot.value), version=outcome.meta["version"],
            ms=round((time.perf_counter() - started) * 1000, 2), attempt=attempt,
        )  # fmt: skip
        metrics.count("TransitionsCommitted", workflow=workflow.name, event=incoming.event["type"])
        _after_commit(workflow, decision, instance.watchers if instance else 0)
        return outcome
    raise Conflict(
        f"{workflow.name} {instance_id!r} kept changing: gave up after {attempt} attempts in "
        f"{budget:g} s; nothing was changed: retry the request"
    )


def _after_commit(workflow: Workflow, decision: Decision, watchers: int) -> None:
    """Run actions, update websockets, send the outbox. Never raises: the commit stands,
    and what is left undone here is the sweeper's."""
    outcome = decision.outcome
    for effect in decision.effects:
        if effect.kind == "action":
            _run_action(workflow, outcome, effect)
    steps = []
    if watchers > 0:  # before the outbox: its feedback commits push later versions
        steps.append(lambda: pushes.broadcast_view(workflow, outcome))
    parent = (decision.write.actors or {}).get("parent")
    if parent:  # a child's progress shows on its parent's live views
        steps.append(lambda: pushes.push_parent(workflow, parent))
    if decision.write.listed or decision.was_listed:
        steps.append(lambda: pushes.announce(workflow, decision))
    if decision.outbox:
        steps.append(
            lambda: dispatch_outbox(
                workflow, outcome.instance_id, decision.outbox, outcome.meta["version"]
            )
        )
    for step in steps:  # each alone: a failed websocket update never holds back a command
        try:
            step()
        except Exception as error:  # noqa: BLE001 - committed: report, leave it to the sweeper
            journal.problem(
                "after-commit step failed; the sweeper will finish it", workflow=workflow.name,
                instance=outcome.instance_id, version=outcome.meta["version"], error=repr(error),
            )  # fmt: skip


def _run_action(workflow: Workflow, outcome: Outcome, effect: Effect) -> None:
    machine = workflow.machine_of(outcome.meta.get("definition")) or workflow.machine
    impl = machine.actions.get(effect.type)
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


def dispatch_outbox(
    workflow: Workflow, instance_id: str, entries: Mapping[str, Any], version: int
) -> None:
    """Send pending messages in commit order, then feed each invoke's completion (or, for
    a command given up, its failure) back as an event.

    The first fed-back commit also drops the sent messages from the outbox; without one,
    a separate clear does. A failure leaves the rest pending for the sweeper: at least
    once, and never for an uncommitted transition.
    """
    pk = workflow.key(instance_id)
    deadline = _deadline.get()
    result = outbox_.send(pk, entries, deadline)
    sent = list(result.sent)
    for message_id, event in result.feedback:
        if deadline is not None and time.monotonic() > deadline:
            break  # out of time: the sweeper sends these again and feeds them back
        invoke = (entries[message_id]["invoke"], message_id)
        incoming = Incoming(
            event, f"{message_id}.{event['type'].split('.')[1]}", RUNTIME, invoke=invoke,
            published=tuple(sent),
        )  # fmt: skip
        try:
            if not _apply(workflow, instance_id, incoming).duplicate:
                sent = []  # its commit dropped them from the outbox
        except EventNotAllowed:
            continue  # the state moved on: the invoke is no longer active
    if sent:
        store.clear_outbox(pk, sent, version, result.complete)
