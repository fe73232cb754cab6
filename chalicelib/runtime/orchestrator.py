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

import base64
import hashlib
import json
import random
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalicelib.statechart import Effect, Snapshot, SnapshotError

from . import broadcast, clock, connections, journal, metrics, store, versions
from . import outbox as outbox_
from .errors import (
    BadRequest,
    Conflict,
    EventNotAllowed,
    IdempotencyKeyReused,
    InstanceExists,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    WorkflowError,
)
from .settings import settings
from .validation import BUS, CLIENT, RUNTIME, TIMER, validate_model, validate_payload
from .workflow import MAX_INSTANCE_ID, Workflow, is_instance_id

__all__ = [
    "BUS",
    "CLIENT",
    "RUNTIME",
    "TIMER",
    "Incoming",
    "Outcome",
    "answered",
    "client_next_events",
    "dispatch_outbox",
    "history",
    "read",
    "send",
    "start",
    "state_key",
    "time_budget",
    "validate_model",
    "validate_payload",
    "worklist",
]


# backoff after a lost race, in seconds: full jitter, uniform in [0, min(cap, base * 2^n)]
# ("Exponential Backoff And Jitter", AWS Architecture Blog), until commit_race_seconds
RACE_BASE, RACE_CAP = 0.01, 1.0

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


@dataclass(slots=True)
class Outcome:
    """An instance after handling a request: its snapshot and how we got there.

    ``duplicate`` marks an event recognised as applied before; ``response`` is the
    stored first answer to a retried Idempotency-Key.
    """

    workflow: Workflow
    instance_id: str
    snapshot: Snapshot
    meta: dict[str, Any]
    duplicate: bool = False
    response: dict[str, Any] | None = None

    def diagram(self) -> dict[str, Any]:
        """The instance drawn on the chart of the version it runs on (Mermaid, its active
        states marked), and that version's number (``definition``)."""
        number = self.meta.get("definition")
        machine = self.workflow.machine_of(number) or self.workflow.machine
        return {"definition": number, "mermaid": machine.to_mermaid(self.snapshot)}

    def view(self) -> dict[str, Any]:
        """The client's view of the instance (the workflow's renderer)."""
        if self.response is not None:
            return self.response
        return self.workflow.view(self.snapshot, self.meta)


@dataclass(slots=True, frozen=True)
class Incoming:
    """One event to apply and where it comes from.

    ``caller`` set means owner-only access; ``keyed`` means ``id`` carries a client's
    Idempotency-Key (remembered with its answer for a day); ``timer`` is the (schedule
    id, token) of a durable timer and ``invoke`` the (invoke id, command message id) of
    an invoke's completion: either applies only while the instance still holds that
    token; ``published`` the outbox messages sent before this runtime event, dropped
    from the outbox in its commit.
    """

    event: Mapping[str, Any]
    id: str
    source: str
    caller: str | None = None
    keyed: bool = False
    timer: tuple[str, str] | None = None
    invoke: tuple[str, str] | None = None
    published: tuple[str, ...] = ()


@dataclass(slots=True)
class _Decision:
    write: store.Commit
    outcome: Outcome
    effects: list[Effect] = field(default_factory=list)
    outbox: dict[str, Any] = field(default_factory=dict)


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


def read(workflow: Workflow, instance_id: str, caller: str | None) -> Outcome:
    """The instance as stored; NotFound when it does not exist or is someone else's."""
    instance = _load_for(workflow, instance_id, caller, creating=False)
    assert instance is not None
    return Outcome(
        workflow, instance_id, _restore(workflow, instance), _meta(instance_id, instance)
    )


def worklist(workflow: Workflow) -> list[Outcome]:
    """The instances on the workflow's worklist, longest listed first (read from an
    eventually consistent index: a change is listed within about a second)."""
    listed = []
    for instance in store.listed(workflow.name):
        instance_id = instance.pk.partition("#")[2]
        snapshot = _restore(workflow, instance)
        listed.append(Outcome(workflow, instance_id, snapshot, _meta(instance_id, instance)))
    return listed


MAX_PAGE = 50
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # clock.stamp's form


def owned(
    workflow: Workflow, owner: str, limit: int, page: str | None
) -> tuple[list[Outcome], str | None]:
    """Up to ``limit`` (1-50) of ``owner``'s instances, newest first, from where the page
    token ``page`` says (None: the newest), and the token of the next page (None: no
    more). BadRequest for a limit out of range or a token this list did not make."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be from 1 to {MAX_PAGE}, not {limit}")
    after = _page_start(workflow, page) if page is not None else None
    instances, following = store.owned(workflow.name, owner, limit, after)
    listed = []
    for instance in instances:
        instance_id = instance.pk.partition("#")[2]
        snapshot = _restore(workflow, instance)
        listed.append(Outcome(workflow, instance_id, snapshot, _meta(instance_id, instance)))
    token = None
    if following is not None:
        start = [following[0].partition("#")[2], following[1]]
        token = base64.urlsafe_b64encode(json.dumps(start).encode()).decode().rstrip("=")
    return listed, token


def _page_start(workflow: Workflow, token: str) -> tuple[str, str]:
    """The (instance key, creation time) a page token names; BadRequest otherwise."""
    bad = BadRequest("not a page token of this list: pass the 'next' of the page before")
    try:
        start = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not (
        isinstance(start, list)
        and len(start) == 2
        and all(isinstance(part, str) for part in start)
        and is_instance_id(start[0])
        and STAMP.fullmatch(start[1]) is not None
    ):
        raise bad
    return workflow.key(start[0]), start[1]


def history(workflow: Workflow, instance_id: str, caller: str | None) -> list[dict[str, Any]]:
    """Every committed transition of the instance, oldest first."""
    _load_for(workflow, instance_id, caller, creating=False)
    return store.history(workflow.key(instance_id))


def _load_for(
    workflow: Workflow, instance_id: str, caller: str | None, creating: bool
) -> store.Instance | None:
    """The stored instance (None only when creating); NotFound for others' instances."""
    missing = NotFound(f"no {workflow.name} {instance_id[:MAX_INSTANCE_ID]!r}")
    if not is_instance_id(instance_id):
        raise missing
    instance = store.load(workflow.key(instance_id))
    if instance is None and not creating:
        raise missing
    if instance is not None and caller is not None and instance.owner != caller:
        raise missing
    return instance


def _version_of(workflow: Workflow, instance: store.Instance) -> versions.Version:
    declared = workflow.versions.get(instance.definition)
    if declared is None:
        raise WorkflowError(
            f"{instance.pk} runs on {workflow.name} version {instance.definition}, which is no "
            "longer declared: declare it again (or a migration from it) and redeploy"
        )
    return declared


def _restore(
    workflow: Workflow, instance: store.Instance, version: versions.Version | None = None,
    snapshot: Mapping[str, Any] | None = None,
) -> Snapshot:  # fmt: skip
    """The stored snapshot (or ``snapshot``) on the machine of its version."""
    declared = version or _version_of(workflow, instance)
    try:
        return declared.machine.restore(instance.snapshot if snapshot is None else snapshot)
    except SnapshotError as error:
        raise WorkflowError(f"stored snapshot of {instance.pk} is unusable: {error}") from None


def _meta(instance_id: str, instance: store.Instance) -> dict[str, Any]:
    return {
        "id": instance_id,
        "version": instance.version,
        "definition": instance.definition,
        "createdAt": instance.created_at,
        "updatedAt": instance.updated_at,
    }


def _fingerprint(workflow: Workflow, instance_id: str, incoming: Incoming, creating: bool) -> str:
    """What a keyed request asked for: create or send, workflow, instance, event and
    payload (not its time)."""
    event = {k: v for k, v in incoming.event.items() if k != "time"}
    operation = "create" if creating else "send"
    text = json.dumps([operation, workflow.name, instance_id, event], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(
    workflow: Workflow,
    instance_id: str,
    incoming: Incoming,
    prior: store.Idempotency,
    creating: bool,
) -> Outcome:
    """The first answer to a retried Idempotency-Key; 422 if it asked something else."""
    if prior.fingerprint != _fingerprint(workflow, instance_id, incoming, creating):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request (another route, "
            "body or order); use a new key for a new request"
        )
    instance = _load_for(workflow, instance_id, incoming.caller, creating=False)
    assert instance is not None
    snapshot = _restore(workflow, instance)
    meta = _meta(instance_id, instance)
    return Outcome(workflow, instance_id, snapshot, meta, duplicate=True, response=prior.response)


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


def answered(
    workflow: Workflow, instance_id: str, incoming: Incoming, creating: bool
) -> Outcome | None:
    """The first answer to a keyed request seen before (None: not keyed, or a new key).
    For services whose own checks depend on time or on other instances: those must not
    refuse a retry the runtime would answer. Raises IdempotencyKeyReused when the key
    answered a different request."""
    prior = store.idempotency(incoming.id) if incoming.keyed else None
    if prior is None:
        return None
    return _replay(workflow, instance_id, incoming, prior, creating)


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
    while True:
        attempt += 1
        started = time.perf_counter()
        instance = _load_for(workflow, instance_id, incoming.caller, create is not None)
        if create is not None and instance is not None:
            raise InstanceExists(f"{workflow.name} {instance_id!r} exists already")
        if _stale(incoming, instance):
            return _current(workflow, instance_id, instance, reload=False)  # its state was left
        try:
            decision = _decide(workflow, instance_id, instance, incoming, create, owner)
        except EventNotAllowed:
            if _redelivered(workflow, instance_id, instance, incoming):
                return _current(workflow, instance_id, instance, reload=False)
            raise
        try:
            _commit(decision.write)
        except store.ConflictError:
            metrics.count("LostRacesRetried", workflow=workflow.name)
            left = give_up_at - time.monotonic()
            if left <= 0:
                break
            if create is None or instance is not None:  # full jitter, capped
                time.sleep(min(left, random.uniform(0, min(RACE_CAP, RACE_BASE * 2**attempt))))
            continue  # lost the race (or created concurrently): reload and decide again
        except store.DuplicateEvent:
            return _current(workflow, instance_id, instance, reload=True)
        except store.IdempotencyTaken:
            prior = store.idempotency(incoming.id)
            if prior is None:
                raise Conflict("a request with this Idempotency-Key is in progress") from None
            return _replay(workflow, instance_id, incoming, prior, create is not None)
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


def _redelivered(
    workflow: Workflow, instance_id: str, instance: store.Instance | None, incoming: Incoming
) -> bool:
    """Whether an event the state does not take was applied before: a redelivery whose
    first delivery moved the state on is a duplicate, not a stale event. Its dedupe
    record is read only on this path, so an event the state takes costs no extra read."""
    if instance is None or incoming.source == CLIENT:  # client events keep no dedupe record
        return False
    return store.applied(workflow.key(instance_id), incoming.id)


def _stale(incoming: Incoming, instance: store.Instance | None) -> bool:
    """A timer, or an invoke's completion, whose state was left (or re-entered since)."""
    for token, active in ((incoming.timer, "timers"), (incoming.invoke, "invokes")):
        if token is not None and (
            instance is None or getattr(instance, active).get(token[0]) != token[1]
        ):
            return True
    return False


def _current(
    workflow: Workflow, instance_id: str, instance: store.Instance | None, reload: bool
) -> Outcome:
    """The instance as it is, for an event that changes nothing (duplicate or stale);
    ``reload`` when what was read may be older than the commit that refused it."""
    if reload or instance is None:
        instance = store.load(workflow.key(instance_id)) or instance
    if instance is None:
        raise NotFound(f"no {workflow.name} {instance_id!r}")
    snapshot = _restore(workflow, instance)
    return Outcome(workflow, instance_id, snapshot, _meta(instance_id, instance), duplicate=True)


def _decide(
    workflow: Workflow,
    instance_id: str,
    instance: store.Instance | None,
    incoming: Incoming,
    create: Mapping[str, Any] | None,
    owner: str | None,
) -> _Decision:
    """The next version: its snapshot, effects and everything its commit writes.

    Raises EventNotAllowed when the state does not accept the event, PayloadTooLarge
    when the instance would outgrow what one item may hold.
    """
    initial: list[Effect] = []
    if instance is None:
        running, upgrade = workflow.versions.latest, None
        first = running.machine.initial_transition(context=create)
        snapshot, initial = first.snapshot, first.effects
        before, version, pending, timers, invokes = None, None, {}, {}, {}
    else:
        running, upgrade = _upgrade(workflow, instance_id, instance)
        snapshot = _restore(workflow, instance, running, upgrade.snapshot)
        before, version = state_key(snapshot.value), instance.version
        pending, timers, invokes = instance.outbox, instance.timers, instance.invokes
    step = running.machine.transition(snapshot, incoming.event)
    if not step.handled:
        raise EventNotAllowed(
            f"{incoming.event['type']} is not allowed in state {state_key(snapshot.value)}",
            state=snapshot.value,
            nextEvents=client_next_events(workflow, snapshot),
        )
    now = clock.now()
    new_version = (version or 0) + 1
    effects = [*initial, *step.effects]  # a new instance also runs its initial entry
    out = outbox_.outbound(
        workflow, instance_id, new_version, effects, now, timers, invokes, pending
    )
    gone = out.drop | (set(incoming.published) & set(pending))
    remaining = {m: e for m, e in pending.items() if m not in gone}
    after = state_key(step.snapshot.value)
    meta = {
        "id": instance_id,
        "version": new_version,
        "definition": running.number,
        "createdAt": instance.created_at if instance else now,
        "updatedAt": now,
        "from": before,
    }
    outcome = Outcome(workflow, instance_id, step.snapshot, meta)
    write = store.Commit(
        pk=workflow.key(instance_id),
        expected_version=version,
        snapshot=step.snapshot.to_dict(),
        state=after,
        now=now,
        history={
            "eventType": incoming.event["type"],
            "eventId": incoming.id,
            "source": incoming.source,
            "from": before,
            "to": after,
            "time": now,
            "event": incoming.event,
            "context": dict(create) if instance is None and create else None,
            "migratedFrom": upgrade.migrated_from if upgrade else None,
            "effects": versions.effect_summary(effects),
            "commands": versions.command_summary(workflow.commands, effects),
            "snapshotHash": versions.snapshot_digest(step.snapshot.to_dict()),
        },
        definition=running.number,
        definition_hash=running.hash,
        counters=versions.counter_changes(
            instance.definition if instance else None,
            running.number,
            step.snapshot.status == "active",
        ),
        owner=owner,
        timers=out.timers,
        invokes=out.invokes,
        add_outbox=out.add,
        remove_outbox=sorted(gone),
        pending_after=bool(remaining or out.add),
        listed=workflow.worklist(step.snapshot) if workflow.worklist else None,
        dedupe=None if incoming.source == CLIENT else incoming.id,
        idempotency=(
            store.Idempotency(
                incoming.id,
                _fingerprint(workflow, instance_id, incoming, create is not None),
                outcome.view(),
            )
            if incoming.keyed
            else None
        ),
    )
    size, limit = store.instance_bytes(instance, write), settings().max_instance_bytes
    if size > limit:
        raise PayloadTooLarge(
            f"{workflow.name} {instance_id!r} would grow to {size} bytes, over the "
            f"{limit}-byte limit of one stored instance; nothing was changed"
        )
    return _Decision(write, outcome, effects, {**remaining, **out.add})


def _upgrade(
    workflow: Workflow, instance_id: str, instance: store.Instance
) -> tuple[versions.Version, versions.Upgrade]:
    """The version the instance continues on and its snapshot there: the declared
    migrations from its version on, up to the first refused one (logged)."""
    declared = _version_of(workflow, instance)
    upgrade = workflow.versions.upgrade(
        declared.number, instance.snapshot, sorted(instance.timers), sorted(instance.invokes)
    )
    if upgrade.refused:
        journal.problem(
            "migration refused; the instance stays on its version", workflow=workflow.name,
            instance=instance_id, definition=upgrade.number, why=upgrade.refused,
        )  # fmt: skip
    return workflow.versions.by_number[upgrade.number], upgrade


def _commit(write: store.Commit) -> None:
    """``store.commit``, settling an ambiguous outcome.

    A commit whose outcome is unknown is sent again, the same request with the same
    token (DynamoDB applies it once), until it answers; a refusal then may mean the first
    one was applied, which the history record of that version tells. Raises what
    ``store.commit`` raises for a commit that was not applied, and Unavailable saying the
    change may or may not have been stored when that record cannot be read.
    """
    unknown: Unavailable | None = None
    for attempt in range(3):
        try:
            store.commit(write)
            return
        except store.Ambiguous as error:
            unknown = error
            time.sleep(0.05 * 2**attempt)
        except Unavailable:
            if unknown is None:
                raise  # refused before anything was written
            time.sleep(0.05 * 2**attempt)  # a resend refused: the first may have applied
        except (store.ConflictError, store.DuplicateEvent, store.IdempotencyTaken) as refused:
            # also what an earlier send of this very commit, applied, leaves behind
            applied = _applied(write)
            if applied:
                return
            if applied is None:  # an earlier send (ours or botocore's) may have been applied
                unknown = store.Ambiguous(f"{refused}; its history could not be read")
                break
            raise
    if _applied(write):
        return
    why = unknown.message if unknown else "storage error"
    raise Unavailable(
        f"{why}; the change may or may not have been stored: retry with the same "
        "Idempotency-Key to have it applied once",
        changed="unknown",
    )


def _applied(write: store.Commit) -> bool | None:
    """Whether the history record of the commit's version holds its token; None when it
    cannot be read (the outcome stays unknown)."""
    try:
        return store.committed_token(write.pk, write.version) == write.token
    except Unavailable:
        return None


def _after_commit(workflow: Workflow, decision: _Decision, watchers: int) -> None:
    """Run actions, update websockets, send the outbox. Never raises: the commit stands,
    and what is left undone here is the sweeper's."""
    outcome = decision.outcome
    for effect in decision.effects:
        if effect.kind == "action":
            _run_action(workflow, outcome, effect)
    steps = []
    if watchers > 0:  # before the outbox: its feedback commits push later versions
        steps.append(lambda: _broadcast(workflow, outcome))
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


def _broadcast(workflow: Workflow, outcome: Outcome) -> None:
    # the watcher count only says whether to look: it may stay above zero after records
    # expired without a $disconnect (one query per commit then), never below the truth
    pk = workflow.key(outcome.instance_id)
    for connection_id in broadcast.broadcast(connections.following(pk), outcome.view()):
        connections.remove(connection_id, pk)


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
