"""Feeds: websocket connections that hear announcements rather than follow one instance.

The ``work`` feed says when work that waits on people arrives or leaves: a station
holding new work or letting it go (``chalicelib/stations``), an instance joining or
leaving its workflow's worklist (the core, after the commit). The staff board listens to
it instead of polling. A listener is recorded as a follower is (``connections``: a
record per connection under ``feed#<name>`` and the connection's own record, both with
the connections' TTL), without an instance to count watchers on. An announcement is
best effort: a listener that missed one (disconnected meanwhile) reads the lists again
when it connects, which is what the board does on every (re)connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import store
from ..shared import BadRequest, Conflict, client, settings
from . import broadcast, connections

FEED_NAME = re.compile(r"[a-z]{1,20}")
WORK = "work"
_PREFIX = "feed#"


def key(feed: str) -> str:
    """The partition the listeners of ``feed`` are recorded under."""
    return _PREFIX + feed


def is_feed(target: str | None) -> bool:
    """Whether a connection's target (``connections.target``) is a feed."""
    return bool(target) and target.startswith(_PREFIX)


def join(feed: str, connection_id: str) -> None:
    """Let ``connection_id`` hear ``feed``. BadRequest for a name that is no feed's,
    Conflict when the feed has the most listeners allowed."""
    if not FEED_NAME.fullmatch(feed):
        raise BadRequest(f"no feed {feed[:40]!r}: feeds are named by 1-20 letters a-z")
    limit = settings().max_connections_per_instance
    if len(connections.following(key(feed))) >= limit:
        raise Conflict(f"the {feed} feed already has {limit} listeners")
    expires = store.expires_in(settings().connection_ttl_seconds)
    ddb: Any = client("dynamodb")
    store.call(ddb.put_item, Item={**store.key(key(feed), f"connection#{connection_id}"),
                                   "expiresAt": expires})  # fmt: skip
    store.call(ddb.put_item, Item={**store.key(f"connection#{connection_id}", "connection"),
                                   "target": {"S": key(feed)}, "expiresAt": expires})  # fmt: skip


def leave(connection_id: str, target: str) -> None:
    """Stop announcing to ``connection_id`` (on disconnect, or when it is gone)."""
    ddb: Any = client("dynamodb")
    store.call(ddb.delete_item, Key=store.key(target, f"connection#{connection_id}"))
    store.call(ddb.delete_item, Key=store.key(f"connection#{connection_id}", "connection"))


def announce(feed: str, document: Mapping[str, Any]) -> None:
    """Send ``document`` to every listener of ``feed``. One that is gone is skipped, not
    forgotten here: its ``$disconnect`` (or its records' TTL) does that, so the stations
    that announce need no right to delete (infra/generate.py grants them none)."""
    broadcast.broadcast(connections.following(key(feed)), document)
