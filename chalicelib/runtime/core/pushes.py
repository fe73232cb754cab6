"""What a commit pushes to live views: the instance's new view to those following it,
its arrival on or departure from its workflow's worklist to the work feed, and a
child's progress to those following its parent. Each is best effort: a client that
missed a push reads the instance again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..live import broadcast, connections, feeds
from ..versions import Workflow
from .instances import Outcome, read, with_children

if TYPE_CHECKING:
    from .decide import Decision

__all__ = ["announce", "broadcast_view", "push_parent"]


def announce(workflow: Workflow, decision: Decision) -> None:
    """Tell the work feed that an instance joined, changed on or left its worklist."""
    outcome = decision.outcome
    change = "arrived" if decision.write.listed else "left"
    feeds.announce(feeds.WORK, {
        "feed": feeds.WORK, "list": workflow.name, "change": change,
        "id": outcome.instance_id, "item": outcome.view() if change == "arrived" else None,
    })  # fmt: skip


def broadcast_view(workflow: Workflow, outcome: Outcome) -> None:
    # the watcher count only says whether to look: it may stay above zero after records
    # expired without a $disconnect (one query per commit then), never below the truth
    pk = workflow.key(outcome.instance_id)
    following = connections.following(pk)
    if not following:
        return
    if (outcome.meta.get("actors") or {}).get("children"):  # with their states, as read
        outcome.meta["actors"] = with_children(outcome.meta["actors"])
    for connection_id in broadcast.broadcast(following, outcome.view()):
        connections.remove(connection_id, pk)


def push_parent(workflow: Workflow, parent: Mapping[str, str]) -> None:
    """Push the parent's view, with its children's states, to those following the parent
    (one query when nobody does). Best effort, like every push: a client that missed one
    reads the instance again."""
    pk = f"{parent['workflow']}#{parent['id']}"
    following = connections.following(pk)
    if not following:
        return
    parent_workflow = workflow.peers.get(parent["workflow"])
    if parent_workflow is None:  # not linked into a registry (versions.link)
        return
    view = read(parent_workflow, parent["id"], None).view()
    for connection_id in broadcast.broadcast(following, view):
        connections.remove(connection_id, pk)
