"""Following an instance of any registered workflow over a websocket: connect (authorised
like reading it over HTTP), answer a message with the current view, disconnect. Staff
may listen to a feed instead (``?feed=work``: work that arrives or leaves)."""

from __future__ import annotations

from collections.abc import Mapping

from .. import core
from ..identity import auth
from ..live import broadcast, connections, feeds
from ..shared import Forbidden, NotFound
from ..versions import Workflow


def connect(
    workflows: Mapping[str, Workflow],
    connection_id: str,
    token: str | None,
    trust: auth.Trust,
    workflow_name: str | None,
    instance_id: str | None,
    feed: str | None = None,
) -> None:
    """Let ``connection_id`` follow an instance its caller may read (staff any, others
    their own), or, for staff, listen to ``feed``. Unauthorized for a bad token;
    Forbidden for a feed and a caller who is not staff; NotFound for an unknown workflow
    or an instance the caller may not read; Conflict when it has the most followers
    allowed."""
    principal = auth.verify(token, trust)
    if feed is not None:
        if not principal.is_staff:
            raise Forbidden("feeds are for staff")
        feeds.join(feed, connection_id)
        return
    workflow = workflows.get(workflow_name or "")
    if workflow is None or not instance_id:
        raise NotFound(
            "connect with ?workflow=<name>&id=<instance id>&token=<jwt> "
            f"(workflows: {', '.join(sorted(workflows))})"
        )
    core.read(workflow, instance_id, None if principal.is_staff else principal.user)
    connections.add(workflow.key(instance_id), connection_id)


def push_current_view(workflows: Mapping[str, Workflow], connection_id: str) -> None:
    """Send the followed instance's view to the connection (the answer to any message)."""
    target = connections.target(connection_id)
    name, _, instance_id = (target or "").partition("#")
    workflow = workflows.get(name)
    if target is None or workflow is None:
        raise NotFound("this connection follows no instance")
    view = core.read(workflow, instance_id, None).view()
    if broadcast.broadcast([connection_id], view):
        connections.remove(connection_id, target)


def disconnect(connection_id: str) -> None:
    """Stop following (API Gateway's ``$disconnect``)."""
    target = connections.target(connection_id)
    if feeds.is_feed(target):
        feeds.leave(connection_id, target)
    else:
        connections.remove(connection_id, target)
