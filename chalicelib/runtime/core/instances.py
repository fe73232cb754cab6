"""An instance as a request sees it: the event to apply (``Incoming``), the answer
(``Outcome``), and reading a stored instance on the machine of the version it runs on
(owner-only access, the worklist, the history)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.statechart import Snapshot, SnapshotError

from .. import store, versions
from ..shared import NotFound, WorkflowError
from ..versions import MAX_INSTANCE_ID, Workflow, is_instance_id


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
        """The client's view of the instance (the workflow's renderer), with its parent
        and children when it has them."""
        if self.response is not None:
            return self.response
        view = self.workflow.view(self.snapshot, self.meta)
        actors = self.meta.get("actors") or {}
        if actors.get("parent"):
            view["parent"] = dict(actors["parent"])
        if actors.get("children"):
            view["children"] = [
                {
                    "actor": a,
                    "workflow": c["workflow"],
                    "id": c["id"],
                    "value": c.get("value"),
                    "status": c["status"],
                }
                for a, c in actors["children"].items()
            ]
        return view


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
    # a message from another instance (messaging/actors.py): its parsed data
    message: Mapping[str, Any] | None = None


def client_next_events(workflow: Workflow, snapshot: Snapshot) -> list[str]:
    """The events a client may send now."""
    return [e for e in snapshot.next_events if e in workflow.client_events]


def read(workflow: Workflow, instance_id: str, caller: str | None) -> Outcome:
    """The instance as stored, with its children's states; NotFound when it does not
    exist or is someone else's."""
    instance = load_for(workflow, instance_id, caller, creating=False)
    assert instance is not None
    meta = instance_meta(instance_id, instance)
    meta["actors"] = with_children(instance.actors)
    return Outcome(workflow, instance_id, restore(workflow, instance), meta)


def with_children(actors: Mapping[str, Any]) -> dict[str, Any]:
    """``actors`` with each child's state value and status as its own record has them
    (one BatchGetItem; at most MAX_CHILDREN), for reading, not for deciding."""
    children = (actors or {}).get("children") or {}
    if not children:
        return dict(actors or {})
    pks = [f"{c['workflow']}#{c['id']}" for c in children.values()]
    found = dict(zip(pks, store.load_many(pks), strict=True))
    merged = {}
    for actor, child in children.items():
        stored = found.get(f"{child['workflow']}#{child['id']}")
        snapshot = stored.snapshot if stored else {}
        status = snapshot.get("status", child["status"]) if stored else child["status"]
        value = versions.state_key(snapshot["value"]) if "value" in snapshot else None
        merged[actor] = {**child, "status": status, "value": value}
    return {**actors, "children": merged}


def worklist(workflow: Workflow) -> list[Outcome]:
    """The instances on the workflow's worklist, longest listed first (read from an
    eventually consistent index: a change is listed within about a second)."""
    listed = []
    for instance in store.listed(workflow.name):
        instance_id = instance.pk.partition("#")[2]
        snapshot = restore(workflow, instance)
        listed.append(
            Outcome(workflow, instance_id, snapshot, instance_meta(instance_id, instance))
        )
    return listed


def history(workflow: Workflow, instance_id: str, caller: str | None) -> list[dict[str, Any]]:
    """Every committed transition of the instance, oldest first."""
    load_for(workflow, instance_id, caller, creating=False)
    return store.history(workflow.key(instance_id))


def load_for(
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


def version_of(workflow: Workflow, instance: store.Instance) -> versions.Version:
    declared = workflow.versions.get(instance.definition)
    if declared is None:
        raise WorkflowError(
            f"{instance.pk} runs on {workflow.name} version {instance.definition}, which is no "
            "longer declared: declare it again (or a migration from it) and redeploy"
        )
    return declared


def restore(
    workflow: Workflow, instance: store.Instance, version: versions.Version | None = None,
    snapshot: Mapping[str, Any] | None = None,
) -> Snapshot:  # fmt: skip
    """The stored snapshot (or ``snapshot``) on the machine of its version."""
    declared = version or version_of(workflow, instance)
    try:
        return declared.machine.restore(instance.snapshot if snapshot is None else snapshot)
    except SnapshotError as error:
        raise WorkflowError(f"stored snapshot of {instance.pk} is unusable: {error}") from None


def instance_meta(instance_id: str, instance: store.Instance) -> dict[str, Any]:
    return {
        "id": instance_id,
        "version": instance.version,
        "definition": instance.definition,
        "createdAt": instance.created_at,
        "updatedAt": instance.updated_at,
        "actors": instance.actors,
    }
