"""Any instance of any registered workflow as an operator sees it: snapshot, view,
pending outbox messages, active timers and invokes, history and diagram."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import core, store
from ..messaging import outbox as outbox_
from ..shared import NotFound
from ..versions import Workflow, is_instance_id


def workflow_named(workflows: Mapping[str, Workflow], name: str) -> Workflow:
    """The registered workflow ``name``; NotFound (listing the names) otherwise."""
    workflow = workflows.get(name)
    if workflow is None:
        raise NotFound(f"no workflow {name[:64]!r} (workflows: {', '.join(sorted(workflows))})")
    return workflow


def instance(workflow: Workflow, instance_id: str) -> dict[str, Any]:
    """Everything stored about one instance; NotFound when there is none."""
    stored = store.load(workflow.key(instance_id)) if is_instance_id(instance_id) else None
    if stored is None:
        raise NotFound(f"no {workflow.name} {instance_id[:128]!r}")
    outcome = core.read(workflow, instance_id, None)
    snapshot = outcome.snapshot
    return {
        "workflow": workflow.name,
        "id": instance_id,
        "version": stored.version,
        "state": snapshot.value,
        "status": snapshot.status,
        "owner": stored.owner,
        "snapshot": snapshot.to_dict(),
        "view": outcome.view(),
        "nextEvents": core.client_next_events(workflow, snapshot),
        "outbox": _outbox(stored.outbox),
        "timers": stored.timers,
        "invokes": stored.invokes,
        # its parent, its children with their states, the message channels' last seqs
        "actors": outcome.meta["actors"],
        "watchers": stored.watchers,
        "createdAt": stored.created_at,
        "updatedAt": stored.updated_at,
        **outcome.diagram(),  # on the chart of the instance's own version
    }


def _outbox(entries: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pending messages in the order they will be sent."""
    listed = []
    for message_id in sorted(entries, key=lambda m: outbox_.seq(m, entries[m])):
        entry = entries[message_id]
        timer = entry.get("timer")
        listed.append(
            {
                "messageId": message_id,
                "kind": "timer" if timer else "message" if entry.get("peer") else "command",
                "type": timer["event"]["type"] if timer else entry["event"]["type"],
                "seq": list(outbox_.seq(message_id, entry)),
                "attempts": int(entry.get("attempts", 0)),
                "dueAt": timer["dueAt"] if timer else None,
                "invoke": entry.get("invoke"),
            }
        )
    return listed


def history(workflow: Workflow, instance_id: str) -> dict[str, Any]:
    """Every committed transition of the instance, oldest first, each with the snapshot
    its step produced (``snapshot``: value and context, replayed; absent from where the
    history cannot be replayed); NotFound when there is none."""
    from ..versions import replay  # on demand: replaying is for staff, not a cold start

    records = core.history(workflow, instance_id, None)
    for record, snapshot in zip(records, replay.steps(workflow, records), strict=False):
        record["snapshot"] = snapshot
    return {"workflow": workflow.name, "id": instance_id, "transitions": records}
