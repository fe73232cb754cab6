"""Events seen before change nothing: a retried Idempotency-Key gets its first answer (or
422 when it asked something else), a redelivered event is recognised by its dedupe
record, and a timer or invoke completion whose state was left is stale."""

from __future__ import annotations

import hashlib
import json

from .. import store
from ..shared import IdempotencyKeyReused, NotFound
from ..versions import Workflow
from .instances import Incoming, Outcome, instance_meta, load_for, restore
from .validation import CLIENT


def fingerprint(workflow: Workflow, instance_id: str, incoming: Incoming, creating: bool) -> str:
    """What a keyed request asked for: create or send, workflow, instance, event and
    payload (not its time)."""
    event = {k: v for k, v in incoming.event.items() if k != "time"}
    operation = "create" if creating else "send"
    text = json.dumps([operation, workflow.name, instance_id, event], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def first_answer(
    workflow: Workflow,
    instance_id: str,
    incoming: Incoming,
    prior: store.Idempotency,
    creating: bool,
) -> Outcome:
    """The first answer to a retried Idempotency-Key; 422 if it asked something else."""
    if prior.fingerprint != fingerprint(workflow, instance_id, incoming, creating):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request (another route, "
            "body or order); use a new key for a new request"
        )
    instance = load_for(workflow, instance_id, incoming.caller, creating=False)
    assert instance is not None
    snapshot = restore(workflow, instance)
    meta = instance_meta(instance_id, instance)
    return Outcome(workflow, instance_id, snapshot, meta, duplicate=True, response=prior.response)


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
    return first_answer(workflow, instance_id, incoming, prior, creating)


def redelivered(
    workflow: Workflow, instance_id: str, instance: store.Instance | None, incoming: Incoming
) -> bool:
    """Whether an event the state does not take was applied before: a redelivery whose
    first delivery moved the state on is a duplicate, not a stale event. Its dedupe
    record is read only on this path, so an event the state takes costs no extra read."""
    if instance is None or incoming.source == CLIENT:  # client events keep no dedupe record
        return False
    return store.applied(workflow.key(instance_id), incoming.id)


def stale(incoming: Incoming, instance: store.Instance | None) -> bool:
    """A timer, or an invoke's completion, whose state was left (or re-entered since)."""
    for token, active in ((incoming.timer, "timers"), (incoming.invoke, "invokes")):
        if token is not None and (
            instance is None or getattr(instance, active).get(token[0]) != token[1]
        ):
            return True
    return False


def current(
    workflow: Workflow, instance_id: str, instance: store.Instance | None, reload: bool
) -> Outcome:
    """The instance as it is, for an event that changes nothing (duplicate or stale);
    ``reload`` when what was read may be older than the commit that refused it."""
    if reload or instance is None:
        instance = store.load(workflow.key(instance_id)) or instance
    if instance is None:
        raise NotFound(f"no {workflow.name} {instance_id!r}")
    snapshot = restore(workflow, instance)
    return Outcome(
        workflow, instance_id, snapshot, instance_meta(instance_id, instance), duplicate=True
    )
