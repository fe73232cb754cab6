"""The websocket adapter: push a JSON document to API Gateway websocket connections."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ..shared import client, settings

log = logging.getLogger(__name__)


class Sender:
    """Sends to connections through API Gateway's management API (``post_to_connection``)."""

    def send(self, connection_id: str, data: str) -> bool:
        """True if delivered; False if the connection is gone. Other errors are raised."""
        endpoint = settings().websocket_endpoint
        api = client("apigatewaymanagementapi", endpoint_url=endpoint)
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data.encode())
        except api.exceptions.GoneException:
            return False
        return True


_sender: Sender = Sender()


def use_sender(sender: Sender) -> None:
    """Replace how messages reach connections (the local stack and tests do)."""
    global _sender
    _sender = sender


def broadcast(connection_ids: Iterable[str], document: Mapping[str, Any]) -> list[str]:
    """Send ``document`` to every connection; returns the ids that are gone."""
    ids = sorted(connection_ids)
    if not ids:
        return []
    if settings().websocket_endpoint is None and type(_sender) is Sender:
        log.warning("WEBSOCKET_ENDPOINT is not set: %d connection(s) not updated", len(ids))
        return []
    data = json.dumps(document, separators=(",", ":"), default=str)
    gone = []
    for connection_id in ids:
        try:
            if not _sender.send(connection_id, data):
                gone.append(connection_id)
        except Exception:
            log.exception("websocket send to %s failed", connection_id)
    return gone
